from atm_project.routers import OptionalSlashRouter

from .views import AccountViewSet, HoldViewSet, TransactionViewSet, TransferViewSet

router = OptionalSlashRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("holds", HoldViewSet, basename="hold")

urlpatterns = router.urls
