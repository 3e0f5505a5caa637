from __future__ import annotations

from django import template

from accounts.audit_labels import action_label, basis_label

register = template.Library()

register.filter("action_label", action_label)
register.filter("basis_label", basis_label)
