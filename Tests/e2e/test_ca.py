"""A certificate authority of the test run's own, and a server certificate it signs for
127.0.0.1 and localhost. The hub trusts it through `SSL_CERT_FILE` (OpenSSL's default verify
paths), so its outbound HTTPS and SMTP STARTTLS run with peer and host name verification ON,
exactly as against Paystack or a real mail server."""
import os
import ssl
import subprocess
import tempfile

_made = {}


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def test_ca():
    """(ca_file, cert_file, key_file), made once per test process (RSA 2048, two days)."""
    if "paths" in _made:
        return _made["paths"]
    directory = tempfile.mkdtemp(prefix="spacehub-test-ca-")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=SpaceHub test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as out:
        out.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=directory)
    paths = tuple(os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key"))
    _made["paths"] = paths
    return paths


test_ca.__test__ = False  # a helper, not a pytest test


def server_context():
    """An `ssl.SSLContext` for a fake server presenting the CA-signed certificate."""
    _, cert, key = test_ca()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def trusting_env():
    """Environment for a hub that trusts the test CA (and only it, for its outbound TLS)."""
    ca, _, _ = test_ca()
    return {"SSL_CERT_FILE": ca, "SSL_CERT_DIR": "/nonexistent"}
