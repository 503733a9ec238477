from django.contrib import admin

from payments.models import ConnectedAccount, Order, StripeEvent

admin.site.register(ConnectedAccount)
admin.site.register(Order)
admin.site.register(StripeEvent)
