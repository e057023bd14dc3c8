"""Responses, helpers that build them, and HTTP errors."""

import json
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie

__all__ = ["Response", "HTTPError", "redirect", "json_response", "accel_redirect"]


def status_line(code):
    """``404`` -> ``"404 Not Found"``."""
    try:
        return "%d %s" % (code, HTTPStatus(code).phrase)
    except ValueError:
        return "%d Unknown" % code


class Response(object):
    """An outgoing HTTP response.

    *body* may be ``str`` (encoded as UTF-8) or ``bytes``.
    """

    default_content_type = "text/html; charset=utf-8"

    def __init__(self, body=b"", status=200, headers=None, content_type=None):
        self.status = int(status)
        self.headers = []
        self.cookies = SimpleCookie()
        for name, value in (headers.items() if isinstance(headers, dict) else headers or ()):
            self.headers.append((name, str(value)))
        if content_type is not None or self.get_header("Content-Type") is None:
            self.set_header("Content-Type", content_type or self.default_content_type)
        self.body = body

    @property
    def body(self):
        return self._body

    @body.setter
    def body(self, value):
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, bytes):
            raise TypeError("response body must be str or bytes, not %s" % type(value).__name__)
        self._body = value

    @property
    def status_line(self):
        return status_line(self.status)

    def get_header(self, name, default=None):
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def set_header(self, name, value):
        """Replace every header called *name* with a single value."""
        self.del_header(name)
        self.headers.append((name, str(value)))

    def add_header(self, name, value):
        self.headers.append((name, str(value)))

    def del_header(self, name):
        name = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name]

    def set_cookie(self, name, value, max_age=None, path="/", domain=None,
                   secure=False, httponly=True, samesite="Lax"):
        self.cookies[name] = value
        morsel = self.cookies[name]
        morsel["path"] = path
        if max_age is not None:
            morsel["max-age"] = int(max_age)
        if domain:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite:
            try:
                morsel["samesite"] = samesite
            except CookieError:  # Python < 3.8 does not know the attribute
                pass

    def delete_cookie(self, name, path="/", domain=None):
        self.set_cookie(name, "", max_age=0, path=path, domain=domain)

    def wsgi_headers(self):
        headers = list(self.headers)
        if self.status not in (204, 304) and self.get_header("Content-Length") is None:
            headers.append(("Content-Length", str(len(self._body))))
        for morsel in self.cookies.values():
            headers.append(("Set-Cookie", morsel.OutputString()))
        return headers

    def __call__(self, environ, start_response):
        """Make a Response usable as a WSGI application in its own right."""
        start_response(self.status_line, self.wsgi_headers())
        if environ.get("REQUEST_METHOD", "GET").upper() == "HEAD" or self.status in (204, 304):
            return [b""]
        return [self._body]

    def __repr__(self):
        return "<Response %s>" % self.status_line


class HTTPError(Exception):
    """Raise from a handler to abort with an error response."""

    def __init__(self, status, message=None, headers=None):
        self.status = int(status)
        self.message = message or status_line(self.status).split(" ", 1)[1]
        self.headers = headers or {}
        Exception.__init__(self, self.status, self.message)

    def to_response(self):
        body = "<!DOCTYPE html>\n<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n" % (
            status_line(self.status), status_line(self.status), _escape(self.message))
        return Response(body, status=self.status, headers=self.headers)


def _escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def redirect(location, status=302):
    """A redirect response (302 by default; use 301, 303, 307 or 308 as needed)."""
    if status not in (301, 302, 303, 307, 308):
        raise ValueError("not a redirect status: %r" % status)
    return Response(b"", status=status, headers={"Location": location})


def json_response(data, status=200, headers=None):
    """Serialize *data* as a JSON response."""
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Response(body, status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


def accel_redirect(internal_uri, filename=None, content_type="application/octet-stream"):
    """Hand a download to the nginx front end through ``X-Accel-Redirect``.

    *internal_uri* must point into an ``internal`` nginx location such as
    ``/protected/``.
    """
    resp = Response(b"", content_type=content_type)
    resp.set_header("X-Accel-Redirect", internal_uri)
    if filename:
        resp.set_header("Content-Disposition",
                        'attachment; filename="%s"' % filename.replace('"', ""))
    return resp
