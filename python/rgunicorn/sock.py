"""The `sockets` a plug-in worker gets: the master's listeners as Python socket objects.

Each is a real `socket.socket` (so asyncio's `create_server(sock=...)`, aiohttp's `SockSite` and
Tornado's `add_socket` take it as it is) over a duplicate of the master's descriptor, with
gunicorn's `cfg_addr`, `sock` and `str()` ("http://127.0.0.1:8000", "unix:/run/app.sock").
They are non-blocking, as the master keeps its listeners.
"""

import os
import socket


class ListenerSocket(socket.socket):
    cfg_addr = None
    _text = ""

    @classmethod
    def from_fd(cls, fd, is_ssl=False):
        sock = cls(fileno=os.dup(fd))
        sock.setblocking(False)
        name = sock.getsockname()
        scheme = "https" if is_ssl else "http"
        if sock.family == socket.AF_UNIX:
            sock.cfg_addr = name
            sock._text = "unix:%s" % name
        elif sock.family == socket.AF_INET6:
            sock.cfg_addr = name[:2]
            sock._text = "%s://[%s]:%d" % (scheme, name[0], name[1])
        else:
            sock.cfg_addr = name
            sock._text = "%s://%s:%d" % (scheme, name[0], name[1])
        return sock

    @property
    def sock(self):
        """gunicorn's listeners wrap a socket in `.sock`; this one is the socket."""
        return self

    def __str__(self):
        return self._text


_current = {"fds": None, "sockets": []}


def listeners(fds, is_ssl=False):
    """The socket objects for the master's listener descriptors, made once per set of listeners
    (a HUP that rebinds makes new ones; the old duplicates are closed, forked workers keep theirs)."""
    key = (tuple(fds), bool(is_ssl))
    if _current["fds"] != key:
        for old in _current["sockets"]:
            old.close()
        _current["fds"] = key
        _current["sockets"] = [ListenerSocket.from_fd(fd, is_ssl) for fd in fds]
    return list(_current["sockets"])
