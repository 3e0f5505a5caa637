"""payment_sandbox: a small stand-in for a card payment processor (a subset of Stripe's REST API).

A development and test tool only, never deployed and never imported by the
product. Standard library only, no Django. See README.md in this folder.

    python -m payment_sandbox --port 8910 --api-key sk_test_demo --webhook-url http://127.0.0.1:8000/billing/webhooks/payments/

or, in-process (tests): `payment_sandbox.server.start(port=0)`.
"""
