"""Portal pages: privacy_officer (being built)."""

from fastapi import APIRouter

router = APIRouter()
