"""The hosted payment page and its siblings: plain HTML with inline CSS, no scripts, nothing fetched from elsewhere.

A card's number, expiry and security code are never written back into a page: after an error the
form comes back empty but for the name on the card.
"""

from __future__ import annotations

from html import escape
from typing import Any

from payment_sandbox.encoding import money
from payment_sandbox.processor import TEST_CARDS

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; background: #f4f5f7; margin: 0; }
main { max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
.banner { background: #fff4ce; border: 2px solid #8a6d00; padding: .5rem .75rem; border-radius: 4px; font-weight: 600; }
.amount { font-size: 1.6rem; font-weight: 700; margin: .25rem 0 1rem; }
.alert { background: #fde7e9; border: 2px solid #a4262c; color: #5c0f12; padding: .5rem .75rem; border-radius: 4px; }
label { display: block; font-weight: 600; margin-top: .9rem; }
input { font: inherit; padding: .45rem .5rem; border: 1px solid #555; border-radius: 4px; width: 100%;
        box-sizing: border-box; }
input[aria-invalid="true"] { border: 2px solid #a4262c; }
.hint { color: #444; font-size: .9rem; }
.row { display: flex; gap: 1rem; } .row > div { flex: 1; }
button { font: inherit; font-weight: 600; margin-top: 1.25rem; padding: .6rem 1.2rem; border-radius: 4px;
         border: 2px solid #0b3d91; background: #0b3d91; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #0b3d91; }
button:focus, input:focus, a:focus { outline: 3px solid #ffbf47; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; }
th, td { border: 1px solid #bbb; padding: .3rem .5rem; text-align: left; vertical-align: top; }
a { color: #0b3d91; }
"""
BANNER = '<p class="banner">Test payments: no real money moves</p>'


def layout(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} - payment sandbox</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{BANNER}\n{body}\n</main>\n</body>\n</html>\n"
    )


def summary(session: dict[str, Any]) -> str:
    names = ", ".join(session["product_names"])
    amount = money(session["amount_total"], session["currency"])
    return f'<p>{escape(names)}</p>\n<p class="amount">{escape(amount)}</p>'


def cards_table() -> str:
    rows = "".join(
        f"<tr><td>{' '.join(number[i : i + 4] for i in range(0, len(number), 4))}</td><td>{escape(what)}</td></tr>"
        for number, (_, what) in TEST_CARDS.items()
    )
    return (
        "<table>\n<caption>Test cards (any future expiry date, any 3-digit security code)</caption>\n"
        '<thead><tr><th scope="col">Card number</th><th scope="col">What happens</th></tr></thead>\n'
        f"<tbody>{rows}</tbody>\n</table>"
    )


def field(name: str, label: str, error_field: str | None, hint: str = "", value: str = "", **attributes: str) -> str:
    described = [f"{name}-hint"] if hint else []
    invalid = error_field == name
    if invalid:
        described.append("error")
    extra = "".join(f' {key}="{escape(given)}"' for key, given in attributes.items())
    return (
        f'<label for="{name}">{escape(label)}</label>\n'
        + (f'<span class="hint" id="{name}-hint">{escape(hint)}</span>\n' if hint else "")
        + f'<input id="{name}" name="{name}" value="{escape(value)}"{extra}'
        + (f' aria-describedby="{" ".join(described)}"' if described else "")
        + (' aria-invalid="true"' if invalid else "")
        + ">"
    )


def checkout(
    session: dict[str, Any], message: str | None = None, error_field: str | None = None, name: str = ""
) -> str:
    """The card form. `message`: an alert at the top, tied to the field at fault. Only `name` is ever filled in."""
    alert = f'<div class="alert" role="alert" id="error">{escape(message)}</div>\n' if message else ""
    cancel = (
        f'<p><a href="{escape(session["cancel_url"])}">Cancel and go back</a></p>' if session.get("cancel_url") else ""
    )
    body = (
        f"<h1>Pay</h1>\n{summary(session)}\n{alert}"
        f'<form method="post" action="/pay/{escape(session["id"])}" novalidate>\n'
        + field(
            "card_number",
            "Card number",
            error_field,
            inputmode="numeric",
            autocomplete="cc-number",
            required="required",
        )
        + '\n<div class="row"><div>\n'
        + field("expiry", "Expiry date (MM/YY)", error_field, autocomplete="cc-exp", required="required")
        + "\n</div><div>\n"
        + field(
            "cvc",
            "Security code (CVC)",
            error_field,
            "3 or 4 digits",
            inputmode="numeric",
            autocomplete="cc-csc",
            required="required",
        )
        + "\n</div></div>\n"
        + field("name", "Name on card", error_field, value=name, autocomplete="cc-name")
        + f'\n<button type="submit">Pay {escape(money(session["amount_total"], session["currency"]))}</button>\n'
        f"</form>\n{cancel}\n{cards_table()}"
    )
    return layout("Pay", body)


def authenticate(session: dict[str, Any]) -> str:
    body = (
        f"<h1>Your bank asks you to confirm this payment</h1>\n{summary(session)}\n"
        "<p>This stands in for your bank's own check. Choose what your bank says.</p>\n"
        f'<form method="post" action="/pay/{escape(session["id"])}/authenticate">\n'
        '<button type="submit" name="outcome" value="complete">Confirm the payment</button>\n'
        '<button type="submit" name="outcome" value="fail" class="secondary">Do not confirm</button>\n'
        "</form>"
    )
    return layout("Confirm this payment", body)


def complete(session: dict[str, Any]) -> str:
    target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    body = (
        f"<h1>This payment is complete</h1>\n{summary(session)}\n"
        f'<p><a href="{escape(target)}">Go back to the site you came from</a></p>'
    )
    return layout("This payment is complete", body)


def expired(session: dict[str, Any]) -> str:
    back = f'<p><a href="{escape(session["cancel_url"])}">Go back</a></p>' if session.get("cancel_url") else ""
    body = f"<h1>This payment page has expired</h1>\n{summary(session)}\n<p>Nothing was paid.</p>\n{back}"
    return layout("This payment page has expired", body)


def missing() -> str:
    return layout("Not found", "<h1>There is no payment here</h1>\n<p>Check the link you followed.</p>")
