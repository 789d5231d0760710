import pytest
from django.test import Client

# The staff fixtures (roles, teller, supervisor, second_supervisor, auditor, superuser,
# staff_client) come from atm_project/testing/staff.py, shared with audit's tests.


@pytest.fixture
def browser_client():
    return Client
