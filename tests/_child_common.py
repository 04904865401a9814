"""What the svc-infra oracle children share: the user model of svc-infra's auth template.

The children run as scripts (``python tests/…_child.py``) in a clean environment, so
they import this as ``_child_common`` with ``tests/`` on ``sys.path``. Nothing from
svc_infra is imported here at module level: its settings load at import, and each
child decides when that happens.
"""

# No ``from __future__ import annotations``: SQLAlchemy evaluates the Mapped[...]
# annotations of the model declared inside user_types(), whose names are local there.
import uuid
from typing import Any


def user_types(table: str, *, auth_user: bool = True) -> tuple[Any, Any, Any, Any]:
    """(User, UserRead, UserCreate, UserUpdate) as svc-infra's auth template declares them
    (trimmed), the model on ``table``; ``auth_user`` marks it as svc-infra's auth user."""
    from fastapi_users import schemas
    from sqlalchemy import Boolean, String
    from sqlalchemy.orm import Mapped, mapped_column
    from svc_infra.db.sql.base import ModelBase
    from svc_infra.db.sql.types import GUID

    class User(ModelBase):
        __tablename__ = table
        __svc_infra_auth_user__ = auth_user

        id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
        email: Mapped[str] = mapped_column(String(320), index=True, nullable=False)
        hashed_password: Mapped[str] = mapped_column(String(512), nullable=False)
        is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
        is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
        is_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
        mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    class UserRead(schemas.BaseUser[uuid.UUID]):
        pass

    class UserCreate(schemas.BaseUserCreate):
        pass

    class UserUpdate(schemas.BaseUserUpdate):
        pass

    return User, UserRead, UserCreate, UserUpdate
