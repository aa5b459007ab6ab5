"""Where the server may send a request: the books address, checked after DNS (issue 13).

The books address is typed by whoever holds Account Settings on the cases side, and the
worker then sends the integration user's login to it. Unchecked, that is a server-side
request forgery: the server's own network (loopback, the private ranges, a cloud's
metadata service) reached by anyone with a settings screen. So every address is checked
here, when it is saved (:func:`check`, from the services) and again before every request
the client sends (:class:`PinnedTransport`), and the connection goes to the very address
that was checked:

1. **The form** (:func:`parse`): ``http`` or ``https`` only; no user name or password
   (``user@host``), query or fragment; a port from 1 to 65535; the host a name or a plain
   IP address. The forms an IPv4 address can hide in (``0x7f000001``, ``2130706433``,
   ``0177.0.0.1``, ``127.1``) and IPv4 inside IPv6 (``::ffff:127.0.0.1``) are refused, not
   guessed at: what is checked is what is typed.
2. **The allow-list**: the server's ``CASEBRIDGE_BOOKS_ALLOWED_HOSTS`` (``host``: that name
   on any port, public addresses only; ``host:port``: exactly that, private addresses
   too) and the host:port pairs a firm administrator of the firm confirmed. Anything else
   is refused before its name is even resolved. Loopback needs no listing but is allowed
   only when ``DEBUG`` or ``CASEBRIDGE_ALLOW_LOOPBACK_BOOKS=1`` (the one-machine set-up).
3. **Every address the name resolves to** (:func:`resolve`): a cloud metadata address is
   refused always, even when listed; loopback only with the allowance above; a private
   (RFC 1918, fc00::/7), link-local, CGNAT, unspecified, multicast or reserved address
   only when the exact host and port is listed. IPv4 inside IPv6 (mapped, NAT64, 6to4) is
   checked as the IPv4 address it carries.
4. **https**, unless the address is loopback or the exact host:port is in
   ``CASEBRIDGE_BOOKS_HTTP_HOSTS``.
5. **Pinned**: the request goes to the checked IP address itself (the URL's host replaced
   by it; the ``Host`` header and, for https, the TLS server name and certificate check
   keep the name), so a name that resolves elsewhere a moment later (DNS rebinding) is
   never connected to. Redirects are never followed.

A refusal is an :class:`AddressRefused` with a stable code (``books_address_*``) and a
message of our own words: never the remote side's.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The largest answer the client reads from the books (a page of 10,000 report rows is
#: ~2 MB): a bigger one is cut off as not the books API's.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024

DEFAULT_PORTS = {"http": 80, "https": 443}

# --- The refusals ----------------------------------------------------------------------------

INVALID = "books_address_invalid"
SCHEME = "books_address_scheme"
USERINFO = "books_address_userinfo"
PORT = "books_address_port"
ODD_FORM = "books_address_odd_form"
NOT_ALLOWED = "books_address_not_allowed"
LOOPBACK = "books_address_loopback"
PRIVATE = "books_address_private"
METADATA = "books_address_metadata"
UNRESOLVABLE = "books_address_unresolvable"
HTTPS_REQUIRED = "books_address_https_required"
PINNED = "books_address_pinned"

ADMIN_SCREEN = "Account Settings → Integrations → Books → Allowed books addresses"


class AddressRefused(Exception):
    """The books address may not be used. ``code`` is stable; ``message`` says why and
    what to do, in our words only."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _messages(code: str, where: str = "") -> str:
    return {
        INVALID: "The books address is not a web address such as "
        "https://books.example.com/books/api/v1.",
        SCHEME: "The books address starts with http:// or https://.",
        USERINFO: "The books address may not carry a user name or password (user@host); "
        "the integration user signs in with the fields below.",
        PORT: "The books address's port must be a number from 1 to 65535.",
        ODD_FORM: "Write the books host as a name or a plain IP address (such as "
        "books.example.com, 203.0.113.7 or [2001:db8::7]); forms such as 0x7f000001, "
        "2130706433, 0177.0.0.1, 127.1 or ::ffff:127.0.0.1 are refused.",
        NOT_ALLOWED: f"The books at {where} are not on the allow-list: a firm administrator "
        f"confirms this host and port under {ADMIN_SCREEN}, or the server's "
        "CASEBRIDGE_BOOKS_ALLOWED_HOSTS lists it.",
        LOOPBACK: f"The books at {where} are this server itself (loopback), allowed only when "
        "the server sets CASEBRIDGE_ALLOW_LOOPBACK_BOOKS=1.",
        PRIVATE: f"The books at {where} resolve to a private, link-local or reserved network "
        "address, allowed only when a firm administrator confirmed this exact host and "
        f"port ({ADMIN_SCREEN}) or the server's CASEBRIDGE_BOOKS_ALLOWED_HOSTS lists it.",
        METADATA: f"The books at {where} are a cloud metadata address, which is never allowed.",
        UNRESOLVABLE: f"The books host {where} could not be resolved to a network address.",
        HTTPS_REQUIRED: f"The books at {where} must be reached over https:// (http:// only "
        "for the books on this server, or a host:port the server's "
        "CASEBRIDGE_BOOKS_HTTP_HOSTS lists).",
        PINNED: "The request was not for the checked books address.",
    }[code]


def refused(code: str, hostport: str = "") -> AddressRefused:
    return AddressRefused(code, _messages(code, hostport))


# --- Address ranges --------------------------------------------------------------------------

#: Cloud metadata services: never reached, even when listed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "169.254.169.250",  # AWS DNS (Route 53 resolver, link-local)
        "169.254.169.253",  # AWS DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS time sync over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure wire server
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.packet.net",
    }
)

_NET = ipaddress.ip_network

#: Refused unless the exact host:port is listed (loopback has its own rule).
SPECIAL_V4 = tuple(
    _NET(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # CGNAT (RFC 6598)
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)
SPECIAL_V6 = tuple(
    _NET(n)
    for n in (
        "::/8",  # unspecified, IPv4-compatible and other reserved (loopback handled first)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID...)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = _NET("64:ff9b::/96")
_SIX_TO_FOUR = _NET("2002::/16")
_LOOPBACK_V4 = _NET("127.0.0.0/8")


def embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), else None."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def kind_of(ip: IPAddress) -> str:
    """``metadata``, ``loopback``, ``special`` (private, link-local, CGNAT, unspecified,
    multicast, reserved) or ``public``."""
    inner = embedded_v4(ip)
    if inner is not None:
        return kind_of(inner)
    if ip in METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _LOOPBACK_V4:
            return "loopback"
        return "special" if any(ip in n for n in SPECIAL_V4) else "public"
    if ip == ipaddress.IPv6Address("::1"):
        return "loopback"
    return "special" if any(ip in n for n in SPECIAL_V6) else "public"


# --- The address itself ----------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A books address in its one canonical form."""

    scheme: str  # "http" or "https"
    host: str  # a lower-case ASCII name, or an IP address as ipaddress writes it
    port: int
    path: str  # "" or "/books/api/v1" (no trailing slash)
    explicit_port: bool = False
    ip: IPAddress | None = field(default=None, compare=False)

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.explicit_port else ""
        return f"{self.scheme}://{host}{port}{self.path}"


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def _canonical_v4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(
        p.isdigit() and p.isascii() and (p == "0" or not p.startswith("0")) and int(p) <= 255
        for p in parts
    )


def parse_host(raw: str) -> tuple[str, IPAddress | None]:
    """A host as typed (no port) in its canonical form, and its IP address if it is one."""
    if raw.startswith("[") and raw.endswith("]"):
        inner = raw[1:-1]
        if "%" in inner:  # a zone id: fe80::1%eth0
            raise refused(ODD_FORM)
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise refused(INVALID) from None
        if ip6.ipv4_mapped is not None or (int(ip6) >> 32 == 0 and int(ip6) > 1):
            raise refused(ODD_FORM)  # ::ffff:127.0.0.1, ::127.0.0.1
        return str(ip6), ip6
    if not raw or any(c in raw for c in "[]%\\@ "):
        raise refused(INVALID)
    try:
        name = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise refused(INVALID) from None
    if name.endswith("."):
        raise refused(ODD_FORM)  # a trailing dot: write the name without it
    labels = name.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # the URL standard reads this as an IPv4 address: only the plain form is accepted
        if not _canonical_v4(name):
            raise refused(ODD_FORM)
        ip4 = ipaddress.IPv4Address(name)
        return str(ip4), ip4
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise refused(INVALID)
    return name, None


def parse(url: str) -> Address:
    """The books address as typed, refused (:class:`AddressRefused`) unless plainly one."""
    text = url.strip()
    if not text or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise refused(INVALID)
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise refused(SCHEME if ":" in text.split("/", 1)[0] else INVALID)
    if scheme not in DEFAULT_PORTS:
        raise refused(SCHEME)
    if "?" in rest or "#" in rest:
        raise refused(INVALID)
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        raise refused(USERINFO)
    if "\\" in authority or not authority:
        raise refused(INVALID)
    host_text, port_text = _split_port(authority)
    host, ip = parse_host(host_text)
    port = DEFAULT_PORTS[scheme]
    if port_text is not None:
        if not port_text.isdigit() or not port_text.isascii() or not 1 <= int(port_text) <= 65535:
            raise refused(PORT)
        port = int(port_text)
    path = ("/" + path).rstrip("/") if slash else ""
    if any(seg in (".", "..") for seg in path.split("/")) or "%" in path:
        raise refused(INVALID)
    return Address(scheme, host, port, path, explicit_port=port_text is not None, ip=ip)


def _split_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise refused(INVALID)
        host, rest = authority[: end + 1], authority[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise refused(INVALID)
        return host, rest[1:]
    if authority.count(":") > 1:
        raise refused(INVALID)  # an IPv6 address goes in brackets
    host, colon, port = authority.partition(":")
    return host, (port if colon else None)


def parse_hostport(text: str, *, default_port: int | None = None) -> tuple[str, int | None]:
    """``host`` or ``host:port`` (``[v6]:port``), or a whole address (its host and port)."""
    text = text.strip()
    if "://" in text:
        address = parse(text)
        return address.host, address.port
    if "@" in text or "/" in text:
        raise refused(USERINFO if "@" in text else INVALID)
    host_text, port_text = _split_port(text)
    host, _ = parse_host(host_text)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not port_text.isascii() or not 1 <= int(port_text) <= 65535:
        raise refused(PORT)
    return host, int(port_text)


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- The policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """What may be reached: the server's settings and the firm's confirmed addresses."""

    allow_loopback: bool
    #: names listed without a port: public addresses on any port
    hosts: frozenset[str]
    #: exact (host, port) pairs, listed or confirmed: private addresses too
    exact: frozenset[tuple[str, int]]
    #: exact (host, port) pairs that may be reached over http
    http: frozenset[tuple[str, int]]

    def listed(self, address: Address) -> bool:
        return address.host in self.hosts or self.exact_listed(address)

    def exact_listed(self, address: Address) -> bool:
        return (address.host, address.port) in self.exact


@lru_cache(maxsize=16)
def _setting_entries(raw: str, name: str) -> tuple[frozenset[str], frozenset[tuple[str, int]]]:
    hosts: set[str] = set()
    exact: set[tuple[str, int]] = set()
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        try:
            host, port = parse_hostport(entry)
        except AddressRefused as exc:
            raise ImproperlyConfigured(f"{name}: {entry!r}: {exc.message}") from None
        if port is None:
            hosts.add(host)
        else:
            exact.add((host, port))
    return frozenset(hosts), frozenset(exact)


def policy(confirmed: Iterable[tuple[str, int]] = ()) -> Policy:
    """The policy now: the settings, and ``confirmed`` (the firm's confirmed pairs)."""
    hosts, exact = _setting_entries(
        settings.BRIDGE_BOOKS_ALLOWED_HOSTS, "CASEBRIDGE_BOOKS_ALLOWED_HOSTS"
    )
    http_hosts, http_exact = _setting_entries(
        settings.BRIDGE_BOOKS_HTTP_HOSTS, "CASEBRIDGE_BOOKS_HTTP_HOSTS"
    )
    if http_hosts:
        raise ImproperlyConfigured(
            "CASEBRIDGE_BOOKS_HTTP_HOSTS lists host:port pairs (a port on every entry)"
        )
    return Policy(
        allow_loopback=bool(settings.DEBUG or settings.BRIDGE_ALLOW_LOOPBACK_BOOKS),
        hosts=hosts,
        exact=exact | frozenset(confirmed),
        http=http_exact,
    )


# --- Resolving and checking ------------------------------------------------------------------


def _getaddrinfo(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


def resolve(address: Address) -> list[IPAddress]:
    """Every address the host resolves to (an IP address: itself), within the connect
    timeout (``CASEBRIDGE_BRIDGE_CONNECT_TIMEOUT``, 3 s): a save waits no longer for it."""
    if address.ip is not None:
        return [address.ip]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        found = pool.submit(_getaddrinfo, address.host, address.port).result(
            float(settings.BRIDGE_CONNECT_TIMEOUT)
        )
    except (OSError, UnicodeError, ValueError, concurrent.futures.TimeoutError):
        raise refused(UNRESOLVABLE, address.hostport) from None
    finally:
        pool.shutdown(wait=False)
    if not found:
        raise refused(UNRESOLVABLE, address.hostport)
    return found


def check(address: Address, rules: Policy) -> list[IPAddress]:
    """The addresses ``address`` may be reached at (in the order DNS gave them), or
    :class:`AddressRefused`. Every resolved address must pass, not just one."""
    where = address.hostport
    if address.host in METADATA_NAMES or (
        address.ip is not None and kind_of(address.ip) == "metadata"
    ):
        raise refused(METADATA, where)
    listed = rules.listed(address)
    if not listed and not rules.allow_loopback:
        raise refused(NOT_ALLOWED, where)  # before resolving anything
    ips = resolve(address)
    kinds = {ip: kind_of(ip) for ip in ips}
    if "metadata" in kinds.values():
        raise refused(METADATA, where)
    if "loopback" in kinds.values() and not rules.allow_loopback:
        raise refused(LOOPBACK, where)
    all_loopback = all(k == "loopback" for k in kinds.values())
    if not listed and not all_loopback:
        raise refused(NOT_ALLOWED, where)
    if "special" in kinds.values() and not rules.exact_listed(address):
        raise refused(PRIVATE, where)
    if (
        address.scheme == "http"
        and not all_loopback
        and (address.host, address.port) not in rules.http
    ):
        raise refused(HTTPS_REQUIRED, where)
    return ips


def check_url(url: str, rules: Policy) -> Address:
    """:func:`parse` then :func:`check`: the canonical address, or a refusal."""
    address = parse(url)
    check(address, rules)
    return address


# --- The transport: to the checked address, and nowhere else ---------------------------------


class _Bounded(httpx.SyncByteStream):
    """An answer's body, cut off past :data:`MAX_RESPONSE_BYTES` or its deadline."""

    def __init__(self, inner: httpx.SyncByteStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        total = 0
        for chunk in self._inner:
            total += len(chunk)
            if total > MAX_RESPONSE_BYTES:
                raise httpx.ReadError("the answer is larger than the books ever send")
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the answer took longer than the books timeout")
            yield chunk

    def close(self) -> None:
        self._inner.close()


def ssl_context() -> ssl.SSLContext:
    """The system's trust store (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured), with the
    certificate checked against the books' name: one per process and trust store, shared
    by every client (loading the store took 70-230 ms a client, and a delivery run opens
    one for itself and one for each lane: issue 12)."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The context of the trust store the environment names (the arguments: its key)."""
    return httpx.create_ssl_context(trust_env=True)


class PinnedTransport(httpx.BaseTransport):
    """Sends a request only to ``address``, and only after checking it again now; then to
    the IP address the check passed (each in turn if one refuses the connection), the
    ``Host`` header and the TLS server name keeping the books' name."""

    def __init__(
        self,
        address: Address,
        rules: Policy,
        *,
        deadline_seconds: float,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self._address = address
        self._rules = rules
        self._deadline_seconds = deadline_seconds
        self._inner = inner or httpx.HTTPTransport(verify=ssl_context(), retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        a = self._address
        url = request.url
        host = url.raw_host.decode("ascii", "replace").lower()  # the IDNA (ASCII) form
        if (url.scheme, host, url.port or DEFAULT_PORTS.get(url.scheme)) != (
            a.scheme,
            a.host,
            a.port,
        ):
            raise httpx.UnsupportedProtocol(_messages(PINNED))
        try:
            ips = check(a, self._rules)
        except AddressRefused as exc:
            raise AddressRefusedError(exc) from None
        deadline = time.monotonic() + self._deadline_seconds
        extensions = dict(request.extensions)
        if a.scheme == "https" and a.ip is None:
            extensions["sni_hostname"] = a.host
        last: httpx.ConnectError | None = None
        for ip in ips:
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(ip)),
                headers=request.headers,  # Host: the books' name, as built by the client
                stream=request.stream,
                extensions=extensions,
            )
            try:
                response = self._inner.handle_request(pinned)
            except httpx.ConnectError as exc:  # nothing was sent: the next address
                last = exc
                continue
            assert isinstance(response.stream, httpx.SyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_Bounded(response.stream, deadline),
                extensions=response.extensions,
            )
        assert last is not None
        raise last

    def close(self) -> None:
        self._inner.close()


class AddressRefusedError(httpx.TransportError):
    """An :class:`AddressRefused` raised from inside the transport (httpx passes only its
    own errors through)."""

    def __init__(self, refusal: AddressRefused) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
