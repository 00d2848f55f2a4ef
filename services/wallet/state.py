"""What the wallet's routers share: the holder and the presenter, on ``app.state``.

Routers take them as typed dependencies (``HolderDep``, ``PresenterDep``), so a route
names what it uses and the app factory is the one place that builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .holder import Holder, Presenter

__all__ = ["HolderDep", "PresenterDep", "WalletDep", "WalletState"]


@dataclass(frozen=True, slots=True)
class WalletState:
    holder: Holder
    """Receives credentials and keeps them, with every decision."""
    presenter: Presenter
    """Answers OpenID4VP requests from what the holder keeps."""


async def _wallet(request: Request) -> WalletState:
    # async, as the two below: FastAPI runs a plain ``def`` dependency in the thread pool.
    state: WalletState = request.app.state.wallet
    return state


async def _holder(wallet: Annotated[WalletState, Depends(_wallet)]) -> Holder:
    return wallet.holder


async def _presenter(wallet: Annotated[WalletState, Depends(_wallet)]) -> Presenter:
    return wallet.presenter


WalletDep = Annotated[WalletState, Depends(_wallet)]
HolderDep = Annotated[Holder, Depends(_holder)]
PresenterDep = Annotated[Presenter, Depends(_presenter)]
