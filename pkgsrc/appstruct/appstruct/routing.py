"""URL routing: map path patterns such as ``/user/{id:int}`` to handler classes."""

import re

__all__ = ["Route", "Router"]

# {name} or {name:converter}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")

# converter name -> (regular expression, python conversion)
CONVERTERS = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "path": (r".+", str),
}


class Route(object):
    """A compiled URL pattern bound to a handler class."""

    def __init__(self, pattern, handler):
        if not pattern.startswith("/"):
            raise ValueError("route pattern must start with '/': %r" % pattern)
        self.pattern = pattern
        self.handler = handler
        self.converters = {}
        self.regex = re.compile(self._compile(pattern))

    def _compile(self, pattern):
        parts = ["^"]
        pos = 0
        for m in _PLACEHOLDER.finditer(pattern):
            name, conv = m.group(1), m.group(2) or "str"
            if conv not in CONVERTERS:
                raise ValueError("unknown converter %r in %r" % (conv, pattern))
            if name in self.converters:
                raise ValueError("duplicate parameter %r in %r" % (name, pattern))
            regex, func = CONVERTERS[conv]
            self.converters[name] = func
            parts.append(re.escape(pattern[pos:m.start()]))
            parts.append("(?P<%s>%s)" % (name, regex))
            pos = m.end()
        parts.append(re.escape(pattern[pos:]))
        parts.append("$")
        return "".join(parts)

    def match(self, path):
        """Return the converted path parameters, or None if *path* does not match."""
        m = self.regex.match(path)
        if m is None:
            return None
        return dict((k, self.converters[k](v)) for k, v in m.groupdict().items())

    def __repr__(self):
        return "<Route %s -> %s>" % (self.pattern, getattr(self.handler, "__name__", self.handler))


class Router(object):
    """An ordered list of routes; the first matching route wins."""

    def __init__(self):
        self.routes = []

    def add(self, pattern, handler):
        route = Route(pattern, handler)
        self.routes.append(route)
        return route

    def match(self, path):
        """Return ``(handler, params)`` for *path*, or ``(None, None)``."""
        for route in self.routes:
            params = route.match(path)
            if params is not None:
                return route.handler, params
        return None, None
