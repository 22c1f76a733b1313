//! Writes of identities that change what a session check answers (the identity embedded in every
//! whoami, its state): they go through the session owner so that the session cache drops what it
//! holds for the identity, on every node, before the write is answered.

use super::service::Sessions;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::ids::IdentityId;

/// How often a read-modify-write of an identity is tried before it gives up with [`Error::Stale`].
pub const STALE_TRIES: u32 = 16;

/// The pause before try `n + 1` after `n` stale writes: random, up to 2^n ms (capped at 64 ms),
/// so writers that collided do not collide again in step.
pub async fn stale_backoff(n: u32) {
    use rand::Rng;
    let ms = rand::thread_rng().gen_range(0..=(1u64 << n.min(6)));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

impl Sessions<'_> {
    /// Write an identity back if it is still at the version it was read at ([`Error::Stale`]
    /// when another write came first); false when it does not exist.
    pub async fn update_identity(&self, identity: &Identity) -> Result<bool> {
        let identity = identity.clone();
        self.store
            .unit(move |p| async move { p.update_identity(&identity).await })
            .await
    }

    /// Delete an identity with its credentials, addresses and sessions; false when unknown.
    pub async fn delete_identity(&self, id: IdentityId) -> Result<bool> {
        self.store
            .unit(move |p| async move { p.delete_identity(id).await })
            .await
    }

    /// Read an identity, change it with `change` (which says whether it changed anything) and
    /// write it back, reading again and re-applying the change when a concurrent write came
    /// first. None when the identity does not exist.
    pub async fn modify_identity(
        &self,
        id: IdentityId,
        mut change: impl FnMut(&mut Identity) -> bool,
    ) -> Result<Option<Identity>> {
        for n in 0..STALE_TRIES {
            // With credentials: an update writes them back.
            let Some(mut identity) = self.store.persister().get_identity(id, true).await? else {
                return Ok(None);
            };
            if !change(&mut identity) {
                return Ok(Some(identity));
            }
            match self.update_identity(&identity).await {
                Ok(true) => return Ok(Some(identity)),
                Ok(false) => return Ok(None),
                Err(Error::Stale) => stale_backoff(n).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Stale)
    }
}
