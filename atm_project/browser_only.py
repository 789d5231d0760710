"""The browser's middleware, kept off the JSON API (`atm_project.middleware.browser_only`).

settings.MIDDLEWARE names these in place of the originals. They serve the admin, the web ATM
page and the landing page; /api/ needs none of them:

- static files are served under /static/, never under /api/;
- sessions, the session user and the staff's OTP device: the API reads only the bearer token of
  the Authorization header (DRF with simplejwt), and a session cookie sent along must not become
  an identity there;
- flash messages are shown by admin pages only.

Kept on every path, in settings: CommonMiddleware (Content-Length, refused user agents),
CsrfViewMiddleware and XFrameOptionsMiddleware (Django's deploy checks know them by name only;
on /api/ they cost a few microseconds: every API view is csrf_exempt).

A module of its own because these imports need the app registry, so it is imported only when
Django loads its middleware.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django_otp.middleware import OTPMiddleware as _OTP
from whitenoise.middleware import WhiteNoiseMiddleware as _StaticFiles

from .middleware import browser_only

WhiteNoiseMiddleware = browser_only(_StaticFiles)
SessionMiddleware = browser_only(_Sessions)
AuthenticationMiddleware = browser_only(_Authentication)
OTPMiddleware = browser_only(_OTP)
MessageMiddleware = browser_only(_Messages)
