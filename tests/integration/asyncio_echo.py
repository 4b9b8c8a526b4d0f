# SPDX-License-Identifier: BSD-2-Clause
# asyncio echo server and client (TCP streams, UDP datagrams, 127.0.0.1) whose
# transcripts must not depend on libaccel. Usage: asyncio_echo.py server|client
# TCP_PORT UDP_PORT STREAMS (the server exits after STREAMS streams).
import asyncio
import hashlib
import sys

HOST = "127.0.0.1"


def payload(i):
    """Deterministic data of connection i: sizes from 0 to about 1.5 MB."""
    size = (i * 97_531) % 1_500_000 if i else 0
    seed = hashlib.sha256(b"conn %d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def serve(port, udp_port, conns):
    done = asyncio.Event()
    stats = []

    async def handle(reader, writer):
        total = 0
        digest = hashlib.sha256()
        while True:
            data = await reader.read(65536)
            if not data:
                break
            total += len(data)
            digest.update(data)
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        stats.append((total, digest.hexdigest()[:16]))
        if len(stats) == conns:
            done.set()

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(data, addr)

    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(HOST, udp_port))
    server = await asyncio.start_server(handle, HOST, port)
    async with server:
        await asyncio.wait_for(done.wait(), 40)
    udp.close()
    for total, digest in sorted(stats):
        print("server: stream of %d bytes, sha256 %s" % (total, digest))


async def stream(port, i):
    data = payload(i)
    reader, writer = await asyncio.open_connection(HOST, port)

    async def send():
        for off in range(0, len(data), 50_000):
            writer.write(data[off:off + 50_000])
            await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(send())
    echoed = await reader.read()
    await sender
    writer.close()
    await writer.wait_closed()
    ok = "equal" if echoed == data else "DIFFERENT"
    return "client: stream %2d sent %d bytes, echo %d bytes %s" % (i, len(data), len(echoed), ok)


class UdpClient(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)


async def datagrams(port, count):
    """Stop and wait: one datagram in flight; resent after 1 s, 3 times at most."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(UdpClient, remote_addr=(HOST, port))
    good = 0
    for n in range(count):
        msg = b"%06d:" % n + bytes([n % 251]) * (n * 613 % 60_000)
        for _ in range(3):
            transport.sendto(msg)
            try:
                while True:
                    got = await asyncio.wait_for(proto.queue.get(), 1)
                    if got[:7] == msg[:7]:
                        break
                good += got == msg
                break
            except asyncio.TimeoutError:
                continue
    transport.close()
    return "client: %d of %d datagrams echoed equal" % (good, count)


async def client(port, udp_port, conns):
    # Datagrams first: the server leaves once the last stream is done.
    print(await datagrams(udp_port, 200))
    lines = await asyncio.gather(*(stream(port, i) for i in range(conns)))
    for line in lines:
        print(line)


def main():
    role = sys.argv[1]
    port, udp_port, conns = (int(a) for a in sys.argv[2:5])
    run = serve if role == "server" else client
    asyncio.run(run(port, udp_port, conns))


if __name__ == "__main__":
    main()
