#!/usr/bin/env python3
"""Generates a FastAPI + SQLAlchemy + Alembic project of about LINES lines for `make bench-slop`.

Deterministic (no randomness): models with relationships, Pydantic schemas, routers whose endpoints
mix clean code with each rule's violations (roughly one in six endpoints), and Alembic migrations
with enums. Usage: gen_corpus.py OUT_DIR [LINES]
"""
import os
import sys

out = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
N_MODELS = 40


def write(rel, text):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return text.count("\n")


lines = 0
models = ["from sqlalchemy import ForeignKey, String\n",
          "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n\n\n",
          "class Base(DeclarativeBase):\n    pass\n"]
for i in range(N_MODELS):
    nxt = (i + 1) % N_MODELS
    models.append(f'''

class Thing{i}(Base):
    __tablename__ = "platform_thing{i}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(ForeignKey("platform_thing{nxt}.id"))
    owner: Mapped["Thing{nxt}"] = relationship(foreign_keys=[owner_id])
    children: Mapped[list["Thing{nxt}"]] = relationship(viewonly=True)
''')
lines += write("db/models.py", "".join(models))

schemas = ["from pydantic import BaseModel\n"]
for i in range(N_MODELS):
    schemas.append(f'''

class Thing{i}Out(BaseModel):
    id: int
    name: str
    status: str


class Thing{i}Detail(Thing{i}Out):
    owner: Thing{(i + 1) % N_MODELS}Out
''')
lines += write("schemas/things.py", "".join(schemas))
lines += write("utils/errors.py", '''from typing import Any


def agent_error(error: str, how_to_fix: str, **context: Any) -> dict[str, Any]:
    return {"error": error, "how_to_fix": how_to_fix, "context": context}
''')

ENDPOINT_CLEAN = '''

@router.get("/thing{i}/{{item_id}}/e{e}", response_model=Thing{i}Detail)
async def get_thing{i}_e{e}(item_id: int, db: AsyncSession = Depends(get_db)):
    """Fetch one thing with its owner loaded."""
    query = (
        select(Thing{i})
        .options(selectinload(Thing{i}.owner))
        .where(Thing{i}.id == item_id)
    )
    result = await db.execute(query)
    item = result.scalar_one_or_none()
    if item is None:
        raise HTTPException(
            status_code=404,
            detail=agent_error(error="Thing not found", how_to_fix="List things first.", item_id=item_id),
        )
    names = [item.name, item.status]
    log.info("loaded %s with %d names", item.id, len(names))
    return item
'''
VIOLATIONS = [
    # selectinload: owner read without eager loading
    '''

@router.get("/thing{i}/{{item_id}}/v{e}", response_model=Thing{i}Out)
async def get_thing{i}_v{e}(item_id: int, db: AsyncSession = Depends(get_db)):
    item = await db.get(Thing{i}, item_id)
    return {{"id": item.id, "name": item.name, "status": item.status, "owner": item.owner.name}}
''',
    # agent-error: bare string detail
    '''

@router.delete("/thing{i}/{{item_id}}/v{e}", response_model=None)
async def delete_thing{i}_v{e}(item_id: int, db: AsyncSession = Depends(get_db)):
    item = await db.get(Thing{i}, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"Thing {{item_id}} not found")
    await db.delete(item)
''',
    # raw-sql: text() naming a model's table
    '''

@router.get("/thing{i}/count/v{e}", response_model=dict)
async def count_thing{i}_v{e}(db: AsyncSession = Depends(get_db)):
    result = await db.execute(text("SELECT count(*) FROM platform_thing{i} WHERE status = 'ACTIVE'"))
    return {{"count": result.scalar()}}
''',
    # response-model: decorator without response_model=
    '''

@router.post("/thing{i}/v{e}")
async def create_thing{i}_v{e}(name: str, db: AsyncSession = Depends(get_db)):
    item = Thing{i}(name=name, status="ACTIVE")
    db.add(item)
    await db.commit()
    return {{"id": item.id}}
''',
]
HEADER = '''import logging

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import *  # noqa: F403
from schemas.things import *  # noqa: F403
from utils.errors import agent_error

log = logging.getLogger(__name__)
router = APIRouter()
'''
mig = 0
f = 0
while lines < target:
    body = [HEADER]
    for e in range(24):
        i = (f * 7 + e) % N_MODELS
        body.append(ENDPOINT_CLEAN.format(i=i, e=e))
        if e % 6 == 5:
            body.append(VIOLATIONS[(f + e) % len(VIOLATIONS)].format(i=i, e=e))
    lines += write(f"api/things_{f:03d}.py", "".join(body))
    f += 1
    if f % 5 == 0:
        value = "archived" if mig % 3 == 0 else "ARCHIVED"
        lines += write(f"alembic/versions/{mig:04d}_enum.py", f'''"""Migration {mig}."""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "{mig:04d}"


def upgrade():
    op.add_column(
        "platform_thing{mig % N_MODELS}",
        sa.Column("state{mig}", postgresql.ENUM("ACTIVE", "{value}", name="state{mig}"), nullable=True),
    )
    op.execute("ALTER TYPE state{mig} ADD VALUE IF NOT EXISTS 'PAUSED'")


def downgrade():
    op.drop_column("platform_thing{mig % N_MODELS}", "state{mig}")
''')
        mig += 1
print(f"{lines} lines in {f} routers, {mig} migrations, 1 models file ({N_MODELS} models)")
