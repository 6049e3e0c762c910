#!/usr/bin/env python3
"""Local RFC 3161 time-stamping authority for CausalDefend's anchor tests. Test use only.

  test_tsa.py init DIR [--clock-precision-digits N]
      Create a throw-away root CA (ca.crt) and a TSA certificate signed by it
      (tsa.crt, with the critical id-kp-timeStamping EKU RFC 3161 2.3 requires),
      plus tsa.cnf and the serial file, in DIR. N > 0 makes genTime carry
      fractional seconds, as many public TSAs do (default 0).

  test_tsa.py serve DIR [--port N] [--port-file F] [--mode tsa|reject|garbage]
      Listen on 127.0.0.1 (port 0 = any free port). The bound port is printed on
      stdout and written atomically to F, so a test can wait for F to appear.
      --mode tsa      answer each query with `openssl ts -reply` (the default)
      --mode reject   answer every query with a TimeStampResp whose status is
                      rejection (what a real TSA sends for a query it refuses)
      --mode garbage  answer every query with bytes that are not DER at all

Needs python3 (standard library only) and the openssl command-line tool.
Time is whole seconds by default (clock_precision_digits = 0) because the
Rust DER parser CausalDefend uses rejects fractional seconds in GeneralizedTime;
--clock-precision-digits exists to test that refusal.
"""
import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading

# A TimeStampReq is about 70 bytes; anything far larger is not one of ours.
MAX_QUERY_BYTES = 64 * 1024

# TimeStampResp ::= SEQUENCE { status PKIStatusInfo ::= SEQUENCE { status INTEGER 2 (rejection) } }
REJECTION_RESPONSE = bytes([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
GARBAGE_RESPONSE = b"this is not a TimeStampResp\n"

CNF_TEMPLATE = """\
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# RFC 3161 2.3: the TSA certificate has exactly one EKU, id-kp-timeStamping, marked critical.
[ v3_tsa ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir                    = @DIR@
serial                 = $dir/tsaserial
crypto_device          = builtin
signer_cert            = $dir/tsa.crt
certs                  = $dir/ca.crt
signer_key             = $dir/tsa.key
signer_digest          = sha256
default_policy         = 1.3.6.1.4.1.55555.1.1
other_policies         = 1.3.6.1.4.1.55555.1.2
digests                = sha256, sha384, sha512
accuracy               = secs:1, millisecs:0, microsecs:0
clock_precision_digits = @DIGITS@
ordering               = yes
tsa_name               = yes
ess_cert_id_chain      = no
ess_cert_id_alg        = sha256
"""


def openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, capture_output=True, check=True)


def init(directory, precision_digits=0):
    os.makedirs(directory, exist_ok=True)
    d = os.path.abspath(directory)
    with open(os.path.join(d, "tsa.cnf"), "w") as f:
        f.write(CNF_TEMPLATE.replace("@DIR@", d).replace("@DIGITS@", str(precision_digits)))
    openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
            "-subj", "/CN=CausalDefend Test Root CA", "-config", "tsa.cnf", "-extensions", "v3_ca", cwd=d)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "tsa.key", "-out", "tsa.csr",
            "-subj", "/CN=CausalDefend Test TSA", "-config", "tsa.cnf", cwd=d)
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "tsa.crt", "-days", "3650", "-sha256",
            "-extfile", "tsa.cnf", "-extensions", "v3_tsa", cwd=d)
    os.remove(os.path.join(d, "tsa.csr"))
    with open(os.path.join(d, "tsaserial"), "w") as f:
        f.write("01\n")


class Handler(http.server.BaseHTTPRequestHandler):
    tsa_dir = "."
    mode = "tsa"
    # `openssl ts -reply` read-modify-writes the serial file, so replies are serialised.
    lock = threading.Lock()

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self.send_error(400, "bad Content-Length")
        if self.headers.get("Content-Type", "") != "application/timestamp-query":
            return self.send_error(415, "want application/timestamp-query")
        if not 0 < length <= MAX_QUERY_BYTES:
            return self.send_error(413 if length else 411)
        query = self.rfile.read(length)
        if self.mode == "reject":
            return self.reply(REJECTION_RESPONSE)
        if self.mode == "garbage":
            return self.reply(GARBAGE_RESPONSE)
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            qpath, rpath = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(qpath, "wb") as f:
                f.write(query)
            proc = subprocess.run(
                ["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", qpath, "-out", rpath],
                cwd=self.tsa_dir, capture_output=True)
            # openssl answers an unparsable or refused query with a TimeStampResp whose status
            # is rejection (sent with HTTP 200, as RFC 3161 wants); no file means openssl failed.
            if not os.path.exists(rpath) or os.path.getsize(rpath) == 0:
                sys.stderr.write(proc.stderr.decode(errors="replace"))
                return self.send_error(500, "openssl ts -reply failed")
            with open(rpath, "rb") as f:
                body = f.read()
        self.reply(body)

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("test-tsa: " + (fmt % args) + "\n")


def serve(directory, port, port_file, mode):
    Handler.tsa_dir = os.path.abspath(directory)
    Handler.mode = mode
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    bound = server.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{bound}\n")
        os.replace(tmp, port_file)  # readers never see a half-written file
    print(bound, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="create the test CA, TSA certificate and config")
    i.add_argument("dir")
    i.add_argument("--clock-precision-digits", type=int, choices=range(0, 7), default=0)
    s = sub.add_parser("serve", help="serve RFC 3161 over HTTP on 127.0.0.1")
    s.add_argument("dir")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--mode", choices=("tsa", "reject", "garbage"), default="tsa")
    args = parser.parse_args()
    if args.cmd == "init":
        init(args.dir, args.clock_precision_digits)
    else:
        serve(args.dir, args.port, args.port_file, args.mode)


if __name__ == "__main__":
    main()
