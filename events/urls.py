from django.urls import path

from events import views

# The public event page and the edit page are in waitlist/urls.py: they use the queue.
urlpatterns = [
    path("", views.home, name="home"),
    path("organiser/events/", views.my_events, name="my_events"),
    path("organiser/events/new/", views.event_create, name="event_create"),
    path("organiser/events/<id:event_id>/publish/", views.event_publish, name="event_publish"),
    path(
        "organiser/events/<id:event_id>/unpublish/", views.event_unpublish, name="event_unpublish"
    ),
]
