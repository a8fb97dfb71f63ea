from django.urls import path

from . import views

app_name = "notes"

urlpatterns = [
    path("", views.index, name="index"),
    path("notes/<int:pk>/", views.detail, name="detail"),
    path("notes/<int:pk>.json", views.detail_json, name="detail_json"),
    path("notes/<int:pk>/attachment", views.attachment, name="attachment"),
    path("whoami", views.whoami, name="whoami"),
    path("healthz", views.healthz, name="healthz"),
]
