from django.contrib.auth.views import LoginView
from django.urls import include, path

urlpatterns = [
    path(
        "accounts/login/",
        LoginView.as_view(template_name="oidc_provider/login.html"),
        name="login",
    ),
    # Discovery is then at /o/.well-known/openid-configuration, so the issuer is <url>/o.
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
