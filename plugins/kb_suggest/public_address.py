"""Connections for the help-centre import that reach only the address that was checked.

The import fetches whatever a sitemap lists on its host. A host name whose DNS answers 127.0.0.1, a private
network or 169.254.169.254 (a cloud's instance metadata, with its credentials) would turn the import into a
reader of this machine's network, and what it reads becomes articles that acknowledgements quote to
customers. Checking the name and then letting requests resolve it again is not enough: a hostile DNS server
answers a public address to the check and an internal one to the connection (DNS rebinding).

So each new connection resolves the name once, refuses it when any of its addresses is not a public one,
and connects to exactly those addresses (``_new_conn`` of urllib3's connection, the one place it resolves).
Everything above the socket is urllib3's own: the URL keeps the host name, so the Host header, TLS's SNI
and certificate verification are all by the name, not by the address. Proxies from the environment are not
used (a proxy resolves the name itself, where no check can follow); the import connects directly.
"""
from __future__ import annotations

import ipaddress
import socket
import sys

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from .articles import ArticleError

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address behind a NAT64 gateway


class InternalAddress(ArticleError):
    """The help centre's name resolves to an address on this machine or its network; pass
    ``--allow-private-addresses`` to import from a help centre there."""


def is_public(address: str) -> bool:
    """Whether ``address`` is one on the internet: not loopback, private, link-local (169.254.0.0/16, where
    clouds serve instance metadata), shared (100.64.0.0/10), reserved, unspecified or multicast, nor one of
    those inside an IPv6 address (IPv4-mapped, 6to4, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope ("fe80::1%eth0") says nothing more
    if ip.version == 6:
        inner = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if inner is not None and not is_public(str(inner)):
            return False
    return ip.is_global and not ip.is_multicast


def vetted_addresses(host: str, port: int, allow_private: bool = False) -> list[tuple]:
    """The name's addresses (``getaddrinfo`` entries), resolved once; InternalAddress when any of them is not
    public, unless ``allow_private``. An answer mixing a public address with an internal one is refused whole."""
    entries = socket.getaddrinfo(host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM)
    for entry in entries:
        _check_entry(entry, host)
    if not allow_private:
        internal = sorted({sa[0] for *_, sa in entries if not is_public(sa[0])})
        if internal:
            where = host if internal == [host.strip("[]")] else f"{host} resolves to {', '.join(internal)}, which"
            raise InternalAddress(f"{where} is an address on this machine or its network; not fetched "
                                  f"(--allow-private-addresses imports from a help centre there)")
    return entries


def _check_entry(entry, host: str) -> None:
    """ArticleError unless ``entry`` is a getaddrinfo entry of an IPv4 or IPv6 address (a hostile or broken
    resolver's answer is refused by name, not met later as a traceback while connecting)."""
    try:
        family, _, _, _, sockaddr = entry
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise ValueError(family)
        ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
    except (TypeError, ValueError, IndexError, AttributeError):
        raise ArticleError(f"{host}: its name server answered {str(entry)[:100]}, which is no IP address; "
                           "not fetched (check the help centre's DNS)") from None


class _Pinned:
    """A urllib3 connection that connects to the addresses it vetted, never resolving the name a second time."""

    allow_private = False

    def _new_conn(self) -> socket.socket:
        try:
            entries = vetted_addresses(self._dns_host, self.port, self.allow_private)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError | None = None
        for family, kind, proto, _, address in entries:
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(address)
            except socket.timeout as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                                f"(connect timeout={self.timeout})") from exc
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error or 'no address'}")


def _pool_classes(allow_private: bool) -> dict:
    pinned = {"allow_private": allow_private}
    http = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), pinned)
    https = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), pinned)
    return {"http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


class PublicAddressAdapter(HTTPAdapter):
    """requests' adapter whose connections reach only public addresses (any, with ``allow_private``), each
    the very address that was checked; directly, never through a proxy."""

    __attrs__ = [*HTTPAdapter.__attrs__, "allow_private"]

    def __init__(self, allow_private: bool = False, **kwargs):
        self.allow_private = allow_private
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_private)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})


def public_session(allow_private: bool = False) -> requests.Session:
    """A requests session for fetching an admin-given site: every connection checked and pinned as above."""
    session = requests.Session()
    adapter = PublicAddressAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
