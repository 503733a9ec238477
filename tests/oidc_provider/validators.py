from oauth2_provider.oauth2_validators import OAuth2Validator


class EmailClaimsValidator(OAuth2Validator):
    """Adds the user's e-mail address, which relying parties sign people up with.

    The claims are request-agnostic callables so the discovery document lists them.
    ``OAuth2Validator.oidc_claim_scope`` already releases them under the ``email`` and
    ``profile`` scopes.
    """

    def get_additional_claims(self):
        return {
            "email": lambda request: request.user.email,
            # The bootstrap creates the user, so the provider vouches for the address.
            "email_verified": lambda request: True,
            "preferred_username": lambda request: request.user.get_username(),
        }
