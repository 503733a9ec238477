from django.urls import path

from waitlist import views

urlpatterns = [
    path("events/<id:event_id>/", views.event_detail, name="event_detail"),
    path("organiser/events/<id:event_id>/edit/", views.event_edit, name="event_edit"),
    path("waitlist/join/", views.join, name="waitlist_join"),
    path("waitlist/", views.my_queue, name="my_queue"),
    path("waitlist/entries/<id:entry_id>/accept/", views.accept, name="waitlist_accept"),
    path("waitlist/entries/<id:entry_id>/decline/", views.decline, name="waitlist_decline"),
    path("waitlist/entries/<id:entry_id>/leave/", views.leave, name="waitlist_leave"),
    path("events/<id:event_id>/tickets/", views.ticket_types_panel, name="ticket_panel"),
    path("organiser/events/<id:event_id>/queue/", views.organiser_queue, name="organiser_queue"),
]
