"""A small thread-safe pool of autocommit connections logged in as ``authenticator``."""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager

import psycopg

from .errors import ApiError

ACQUIRE_TIMEOUT_S = 10


class Pool:
    def __init__(self, conninfo: str, size: int = 8):
        self._conninfo = conninfo
        self._free: queue.Queue[psycopg.Connection | None] = queue.Queue()
        for _ in range(size):
            self._free.put(None)  # slots are connected lazily
        self._lock = threading.Lock()
        self._all: list[psycopg.Connection] = []

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._conninfo, autocommit=True)
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def connection(self):
        try:
            conn = self._free.get(timeout=ACQUIRE_TIMEOUT_S)
        except queue.Empty:
            raise ApiError(504, "PGRST003", "Timed out acquiring connection from connection pool.")
        try:
            if conn is None or conn.closed:
                try:
                    conn = self._connect()
                except psycopg.OperationalError as err:
                    conn = None
                    raise ApiError(503, "PGRST000", "Database connection error. Retrying the connection.", str(err))
            yield conn
        finally:
            if conn is not None and (conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE):
                conn.close()  # never hand a connection in an unknown state to the next request
                conn = None
            self._free.put(conn)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
