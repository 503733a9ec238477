# Accounts use Django's own User model; django-allauth keeps e-mail addresses, social
# accounts and authenticators in its own models.
