"""Views of the platform: parse the request, call a service, commit, redirect or render."""
