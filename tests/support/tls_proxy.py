#!/usr/bin/env python3
"""A TLS-terminating reverse proxy for the tests, standard library only.

Listens on 127.0.0.1 (port 0: the system picks), speaks TLS with the given certificate and key,
and relays the bytes of each connection, as they come, to a plain TCP server on 127.0.0.1 (mladmin):
what an nginx or a load balancer in front of mladmin does, minus HTTP. Streams (the event stream)
pass through unbuffered. Prints "listening on https://127.0.0.1:PORT" once it accepts connections.

    tls_proxy.py --cert cert.pem --key key.pem --upstream-port 8080
"""

import argparse
import select
import socket
import ssl
import sys
import threading


def relay(client, upstream):
    """Copies bytes both ways until either side closes. One thread per connection: an SSL socket
    is not to be read and written from two threads at once."""
    sockets = [client, upstream]
    while True:
        # Bytes OpenSSL already decrypted do not make the socket readable: take them first.
        ready = [client] if client.pending() else select.select(sockets, [], [], 1.0)[0]
        for sock in ready:
            try:
                data = sock.recv(65536)
            except ssl.SSLWantReadError:
                continue  # a TLS record not complete yet
            except OSError:
                return
            if not data:
                return
            other = upstream if sock is client else client
            try:
                other.sendall(data)
            except OSError:
                return


def serve(conn, context, upstream_port):
    try:
        conn.settimeout(10)
        client = context.wrap_socket(conn, server_side=True)  # the handshake
        client.settimeout(None)
    except (ssl.SSLError, OSError) as e:
        print(f"TLS handshake failed: {e}", file=sys.stderr, flush=True)
        conn.close()
        return
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
        upstream.settimeout(None)
    except OSError as e:
        print(f"upstream unreachable: {e}", file=sys.stderr, flush=True)
        client.close()
        return
    try:
        relay(client, upstream)
    finally:
        for sock in (client, upstream):
            try:
                sock.close()
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="PEM certificate (chain) to present")
    parser.add_argument("--key", required=True, help="its PEM private key")
    parser.add_argument("--upstream-port", type=int, required=True, help="the plain server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    print(f"listening on https://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, context, args.upstream_port), daemon=True).start()


if __name__ == "__main__":
    main()
