from django.apps import AppConfig


class AtmConfig(AppConfig):
    name = "atm"
    verbose_name = "Web ATM"
