import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from audit.tests.test_admin import MODELS, _url
@pytest.mark.django_db
def test_measure(superuser, teller, auditor, staff_client, big_bank):
    for model in MODELS:
        obj = model.objects.order_by("pk").last()
        for staff in (superuser, teller, auditor):
            c = staff_client(staff)
            with CaptureQueriesContext(connection) as a: c.get(_url(model, "changelist"))
            with CaptureQueriesContext(connection) as b: c.get(_url(model, "change", obj.pk))
            print(model.__name__, staff.username, len(a), len(b))
