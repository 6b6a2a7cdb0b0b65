"""The app's URLs and the benchmark's floor page, at a URL of its own so
that the product's URLs stay as they are (bench/settings.py)."""

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/floor/", views.floor, name="bench_floor"),
    path("", include("config.urls")),
]
