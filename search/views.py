from urllib.parse import urlencode

from django.core.paginator import InvalidPage, PageNotAnInteger
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django_htmx.http import push_url, replace_url

from search import selectors
from search.forms import SearchForm

FULL_PAGE = "search/search.html"
# htmx requests name the element they will replace (HX-Target): the search box replaces the
# page's <main>, the filter form only the results.
PARTIALS = {"main": "search/_main.html", "search-results": "search/_results.html"}


def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()  # invalid filters are left out; their errors are shown beside them
    try:
        page = selectors.search_events(
            form.query_text(), filters=form.filters(), page=_page_number(request)
        )
    except InvalidPage:
        raise Http404("No such page.") from None
    template = FULL_PAGE
    if request.htmx and not request.htmx.history_restore_request:
        template = PARTIALS.get(request.htmx.target or "", FULL_PAGE)
    context = {"form": form, "page": page, "partial": template != FULL_PAGE}
    response = render(request, template, context)
    if template != FULL_PAGE:
        response = _record_in_history(request, response)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _record_in_history(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Each search takes one entry in the browser's history, under a clean, shareable URL
    (no empty filters). A filter change pushes one; the search box's first keystroke from
    another page pushes one, later ones replace it, so Back leaves the search instead of
    stepping through "j", "ja", "jaz"."""
    filled = [(key, value) for key, values in request.GET.lists() for value in values if value]
    url = reverse("search") + (f"?{urlencode(filled)}" if filled else "")
    current = request.htmx.current_url_abs_path or ""
    typing_on_search_page = request.htmx.target == "main" and current.split("?", 1)[0] == reverse(
        "search"
    )
    record = replace_url if typing_on_search_page else push_url
    return record(response, url)


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page") or 1)
    except ValueError:
        raise PageNotAnInteger("That page number is not an integer.") from None
