"""django_view: a one-file Django project whose only view returns the same 13 bytes as hello.

Django's default middleware minus the ones that need a database (sessions, auth, messages, CSRF).
"""

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="bench-only-not-secret",
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()


def hello(request):
    return HttpResponse(b"Hello, World!", content_type="text/plain")


urlpatterns = [path("", hello)]

from django.core.wsgi import get_wsgi_application  # noqa: E402  (needs settings first)

app = get_wsgi_application()
