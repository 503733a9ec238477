"""The page allauth shows when one of its rate limits refuses a request (``handler429``)."""

import math
import time

from allauth.account import app_settings as account_settings
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

ALLAUTH_APP = "allauth.account"


def seconds_until_allauth_allows(request: HttpRequest) -> int:
    """When the request's IP (and user) may try again: the latest moment any exhausted
    allauth limit frees a slot, i.e. when its oldest hit in the window leaves the window.

    allauth does not say which limit refused the request, so every per-IP and per-user
    limit is read from allauth's own cache entries and the longest wait wins (a retry after
    it is not refused by the same limit). A limit keyed by e-mail address cannot be read
    without the address; if none of the readable ones is exhausted, the longest configured
    window is the safe answer.
    """
    now = time.time()
    waits: list[float] = []
    longest_window = 60.0
    for action, rates in account_settings.RATE_LIMITS.items():
        for rate in allauth_ratelimit.parse_rates(rates):
            longest_window = max(longest_window, rate.duration)
            if rate.per == "key" or (rate.per == "user" and not request.user.is_authenticated):
                continue
            key = allauth_ratelimit.get_cache_key(
                request, app=ALLAUTH_APP, action=action, rate=rate
            )
            # allauth keeps the hits newest first; the window is full at rate.amount hits.
            in_window = [hit for hit in cache.get(key, []) if hit > now - rate.duration]
            if len(in_window) >= rate.amount:
                waits.append(in_window[rate.amount - 1] + rate.duration - now)
    wait = max(waits) if waits else longest_window
    return max(1, math.ceil(wait))


def rate_limited(request: HttpRequest) -> HttpResponse:
    retry_after = seconds_until_allauth_allows(request)
    response = render(request, "429.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response
