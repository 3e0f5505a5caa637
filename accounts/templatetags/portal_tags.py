from __future__ import annotations

from django import template

from accounts.audit_labels import action_label, basis_label

register = template.Library()

register.filter("action_label", action_label)
register.filter("basis_label", basis_label)


@register.filter
def get_item(mapping: object, key: object) -> object:
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key) if isinstance(mapping, dict) else None
