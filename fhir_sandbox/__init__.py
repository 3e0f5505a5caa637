"""fhir_sandbox: a small stand-in for real FHIR R4 health systems with SMART on FHIR standalone launch.

A development and test tool only, never deployed and never imported by the
product. Standard library only, no Django. See README.md in this folder.

    python -m fhir_sandbox --config fhir_sandbox/example/config.json --port 8900

or, in-process (tests): `fhir_sandbox.server.start(config, port=0)`.
"""
