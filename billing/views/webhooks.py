"""The processor's webhooks: signed events that settle payments even when the person never comes back.

A public endpoint (the processor is not signed in): the signature is the only credential. A bad or stale
signature gets 400 and changes nothing; an event seen before (a replay, a resend) gets 200 and changes
nothing; an event about a payment we do not have gets 200 (the processor would only send it again).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.audience import public_page
from billing.gateways import BadSignatureError, GatewayError, gateway
from billing.payments import handle_event

logger = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024


@public_page
@csrf_exempt
@require_POST
def payment_events(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = MAX_EVENT_BYTES + 1
    if length > MAX_EVENT_BYTES:
        return HttpResponse(status=413)
    body = request.body
    try:
        event = gateway().parse_event(body, request.headers.get("Stripe-Signature", ""))
    except BadSignatureError as error:
        logger.warning("A payment webhook was refused: %s.", error)
        return HttpResponse("bad signature", status=400, content_type="text/plain")
    try:
        handle_event(event)
    except GatewayError:
        return HttpResponse(status=503)  # the processor sends it again later
    return HttpResponse(status=200)
