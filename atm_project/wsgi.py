import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atm_project.settings")

from atm_project.chunked import ChunkedBodyMiddleware

application = ChunkedBodyMiddleware(get_wsgi_application())
