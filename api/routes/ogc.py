"""(in progress: the ogc routes)"""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
