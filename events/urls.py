from django.urls import path

from events import views

urlpatterns = [
    path("", views.home, name="home"),
    path("events/<id:event_id>/", views.event_detail, name="event_detail"),
    path("organiser/events/", views.my_events, name="my_events"),
    path("organiser/events/new/", views.event_create, name="event_create"),
    path("organiser/events/<id:event_id>/edit/", views.event_edit, name="event_edit"),
    path("organiser/events/<id:event_id>/publish/", views.event_publish, name="event_publish"),
    path(
        "organiser/events/<id:event_id>/unpublish/", views.event_unpublish, name="event_unpublish"
    ),
]
