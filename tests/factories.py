from __future__ import annotations

from datetime import date, timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.actors import Scope
from accounts.models import Enrollment, Membership, Organization, Patient, Role, TOTPDevice, User
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant

TEST_PASSWORD = "correct-horse-battery-staple"
TOTP_KEY_HEX = "3132333435363738393031323334353637383930"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = date(1985, 6, 15)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.NURSE


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    patient = factory.SubFactory(PatientFactory)
    organization = factory.SubFactory(OrganizationFactory)
    mrn = factory.Sequence(lambda n: f"MRN-{n:06d}")


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    key = TOTP_KEY_HEX
    confirmed = True


class ProxyGrantFactory(factory.django.DjangoModelFactory):
    """A live grant: the patient's consent, the records only, started yesterday, no end."""

    class Meta:
        model = ProxyGrant

    grantee = factory.SubFactory(UserFactory)
    patient = factory.SubFactory(PatientFactory)
    legal_basis = Basis.PATIENT_CONSENT
    scopes = factory.LazyFunction(lambda: [Scope.RECORDS])
    status = GrantStatus.ACTIVE
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
