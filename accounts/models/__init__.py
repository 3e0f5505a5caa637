from accounts.models.audit import AuditEvent, AuditSeal
from accounts.models.mfa import RecoveryCode, RecoveryCodeDevice, TOTPDevice
from accounts.models.people import Patient, User
from accounts.models.tenants import Enrollment, Membership, Organization, Role
from accounts.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditSeal",
    "Enrollment",
    "Membership",
    "Organization",
    "Patient",
    "RecoveryCode",
    "RecoveryCodeDevice",
    "Role",
    "TOTPDevice",
    "User",
]
