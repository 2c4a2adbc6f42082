"""(in progress: the plans routes)"""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
