"""How the server's SQLite connections read the file (app/storage/database.py): through a memory
map, on the reading and the writing connections alike (a read() per page cost a served bill for a
random customer 0.5-0.8 ms of CPU)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from tests.sqlite_databases import sqlite_database_of

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True))
GIBIBYTE = 1 << 30


async def test_readers_and_the_writer_read_the_file_through_a_memory_map(tmp_path):
    async with sqlite_database_of(tmp_path / "reads.db", metadata) as database:
        await database.run_write(lambda connection: connection.execute(insert(things), [{"id": 1}, {"id": 2}]))
        async with database.read() as connection:
            read_map = (await connection.execute(text("PRAGMA mmap_size"))).scalar_one()
            rows = (await connection.execute(select(things.c.id).order_by(things.c.id))).scalars().all()
        written_map = await database.run_write(
            lambda connection: connection.exec_driver_sql("PRAGMA mmap_size"), brief=True
        )

        # As much as the build allows (2 GiB - 64 KiB for Debian's libsqlite3); 0 would be read() calls.
        assert read_map == written_map.scalar_one() >= GIBIBYTE
        assert rows == [1, 2]
