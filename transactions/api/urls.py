from atm_project.routers import OptionalSlashRouter

from .views import AccountMoneyViewSet, HoldViewSet, TransactionViewSet, TransferViewSet

router = OptionalSlashRouter()
# Beside accounts.api's AccountViewSet on the same prefix: these are the money routes under
# /accounts/{number}/ (the router makes only their detail routes, so nothing overlaps).
router.register("accounts", AccountMoneyViewSet, basename="account-money")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("holds", HoldViewSet, basename="hold")

urlpatterns = router.urls
