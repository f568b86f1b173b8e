"""TLS between PCs: the farm's CA and the Prefect server's certificate, and the proxy worker PCs reach it through."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ipaddress
import socket
import ssl
from pathlib import Path
from typing import Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.settings import Settings, is_loopback

YEARS = 10


def tls_on(settings: Settings) -> bool:
    """The Prefect server started here is reached through TLS: always when other PCs may reach it."""
    if not settings.starts_prefect_server or settings.prefect_tls == "off":
        return False
    return settings.prefect_tls == "on" or not is_loopback(settings.prefect_host)


def tls_dir(settings: Settings) -> Path:
    return settings.data_dir / "prefect" / "tls"


def server_names(settings: Settings) -> list[str]:
    """What worker PCs may call the API PC by: its names and addresses, and loopback."""
    names = {"localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn(), settings.pc_name}
    if settings.prefect_host not in ("0.0.0.0", "::"):
        names.add(settings.prefect_host)
    try:
        names.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None))
    except OSError:
        pass
    return sorted(name for name in names if name)


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _certificate(subject: str, key, issuer: Optional[x509.Certificate], issuer_key, *, ca: bool,
                 names: Sequence[str] = ()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=365 * YEARS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
    if names:
        alternatives = []
        for each in names:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(each)))
            except ValueError:
                alternatives.append(x509.DNSName(each))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_certificates(settings: Settings) -> tuple[Path, Path, Path]:
    """The farm's CA (made once) and a server certificate for this PC's names (made again when they
    change). Keys are 0600; ca.pem is what every worker PC is given. Returns (ca, certificate, key)."""
    folder = tls_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, ca_key_file = folder / "ca.pem", folder / "ca-key.pem"
    cert_file, key_file, names_file = folder / "server.pem", folder / "server-key.pem", folder / "server-names"
    if not (ca_file.exists() and ca_key_file.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_private(ca_key_file, _key_pem(ca_key))
        ca_file.write_bytes(_certificate("phonefarm CA", ca_key, None, ca_key, ca=True).public_bytes(serialization.Encoding.PEM))
        cert_file.unlink(missing_ok=True)
    names = server_names(settings)
    if not cert_file.exists() or not names_file.exists() or names_file.read_text() != "\n".join(names):
        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        _write_private(key_file, _key_pem(key))
        cert_file.write_bytes(_certificate("phonefarm prefect", key, ca, ca_key, ca=False, names=names)
                              .public_bytes(serialization.Encoding.PEM))
        names_file.write_text("\n".join(names))
    return ca_file, cert_file, key_file


# --- the proxy: `python -m api.supervision.tls` ---------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        writer.close()


async def _proxy(host: str, port: int, target_port: int, cert: str, key: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:  # the server restarts: the client retries
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(connected, host, port, ssl=context)
    async with server:
        await server.serve_forever()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.supervision.tls",
                                     description="TLS in front of the Prefect server on this PC's loopback")
    parser.add_argument("--listen-host", required=True)
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--to-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    asyncio.run(_proxy(args.listen_host, args.listen_port, args.to_port, args.cert, args.key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
