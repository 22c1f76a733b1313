//! Several nodes on one PostgreSQL database: no node answers stale after a revocation or change.

#[allow(unused_imports)]
use super::*;

// Item 3: several nodes on one PostgreSQL database
// ---------------------------------------------------------------------------------------------

const REVOCATIONS: [&str; 6] = [
    "logout",
    "disableMySession",
    "disableMyOtherSessions",
    "adminDisableSession",
    "deactivateIdentity",
    "deleteIdentity",
];
/// 14 trials for every (revoking node, revocation kind) pair.
const NODE_TRIALS: usize = 3 * REVOCATIONS.len() * 14;

#[derive(Default)]
struct NodeReport {
    kind: &'static str,
    trials: u64,
    clean_trials: u64,
    login_checks: u64,
    revocation_checks: u64,
    survivor_checks: u64,
    stale: Vec<String>,
}

/// One trial: identity and sessions made on A, checked on B and C at once; revoked on A by `kind`,
/// then B and C are asked right away.
async fn node_trial(i: usize, apis: &[Api; 3]) -> NodeReport {
    let kind = REVOCATIONS[(i / 3) % REVOCATIONS.len()];
    let mut r = NodeReport {
        kind,
        trials: 1,
        ..Default::default()
    };
    let a = &apis[i % 3];
    let others = [&apis[(i + 1) % 3], &apis[(i + 2) % 3]];
    let e = email("node");
    let (st, ident) = a.create_identity(&e).await.unwrap();
    assert_eq!(st, 201, "create identity on {}: {}", a.node, show(&ident));
    let iid = s(&ident["id"]);
    for o in others {
        let (st, _) = o.get_identity(&iid).await.unwrap();
        if st != 200 {
            r.stale.push(format!(
                "trial {i}: identity created on {} answers {st} on {}",
                a.node, o.node
            ));
        }
    }
    let n = match kind {
        "disableMySession" => 2,
        "disableMyOtherSessions" => 3,
        _ => 1,
    };
    let mut sessions: Vec<(String, String)> = Vec::new();
    for _ in 0..n {
        let (st, b) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "login on {}: {}", a.node, show(&b));
        let (sid, tok) = (s(&b["session"]["id"]), s(&b["session_token"]));
        for o in others {
            r.login_checks += 1;
            let (st, w) = o.whoami(&tok).await.unwrap();
            if st != 200 || s(&w["id"]) != sid {
                r.stale.push(format!(
                    "trial {i}: session {sid} just made by a login on {} answers whoami {st} on {}",
                    a.node, o.node
                ));
            }
        }
        sessions.push((sid, tok));
    }
    // Revoke on A; `revoked` must be refused everywhere, `kept` still accepted.
    let (revoked, kept): (Vec<usize>, Vec<usize>) = match kind {
        "logout" => {
            let (st, b) = a.logout(&sessions[0].1).await.unwrap();
            assert_eq!(st, 204, "logout on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
        "disableMySession" => {
            let (st, b) = a
                .disable_my_session(&sessions[0].1, &sessions[1].0)
                .await
                .unwrap();
            assert_eq!(st, 204, "disableMySession on {}: {}", a.node, show(&b));
            (vec![1], vec![0])
        }
        "disableMyOtherSessions" => {
            let (st, b) = a.disable_my_other_sessions(&sessions[0].1).await.unwrap();
            assert_eq!(
                st,
                200,
                "disableMyOtherSessions on {}: {}",
                a.node,
                show(&b)
            );
            assert_eq!(b["count"], 2, "disableMyOtherSessions count");
            (vec![1, 2], vec![0])
        }
        "adminDisableSession" => {
            let (st, b) = a.admin_disable_session(&sessions[0].0).await.unwrap();
            assert_eq!(st, 204, "admin disableSession on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
        "deactivateIdentity" => {
            let (st, b) = a.deactivate_identity(&iid).await.unwrap();
            assert_eq!(st, 200, "deactivate on {}: {}", a.node, show(&b));
            assert_eq!(b["state"], "inactive");
            (vec![0], vec![])
        }
        _ => {
            let (st, b) = a.delete_identity(&iid).await.unwrap();
            assert_eq!(st, 204, "delete identity on {}: {}", a.node, show(&b));
            (vec![0], vec![])
        }
    };
    for o in others {
        // The very next request on this node is the revoked session's whoami.
        for t in &revoked {
            r.revocation_checks += 1;
            let (st, _) = o.whoami(&sessions[*t].1).await.unwrap();
            if st != 401 {
                r.stale.push(format!(
                    "trial {i}: STALE: session {} revoked by an acknowledged {kind} on {} answers whoami {st} on {}",
                    sessions[*t].0, a.node, o.node
                ));
            }
        }
        for t in &kept {
            r.survivor_checks += 1;
            let (st, _) = o.whoami(&sessions[*t].1).await.unwrap();
            if st != 200 {
                r.stale.push(format!(
                    "trial {i}: the current session {} kept by {kind} on {} answers whoami {st} on {}",
                    sessions[*t].0, a.node, o.node
                ));
            }
        }
        match kind {
            "deactivateIdentity" => {
                r.revocation_checks += 1;
                let (st, b) = o.get_identity(&iid).await.unwrap();
                if st != 200 || b["state"] != "inactive" {
                    r.stale.push(format!(
                        "trial {i}: identity {iid} deactivated on {} reads {st} {} on {}",
                        a.node, b["state"], o.node
                    ));
                }
            }
            "deleteIdentity" => {
                r.revocation_checks += 1;
                let (st, _) = o.get_identity(&iid).await.unwrap();
                if st != 404 {
                    r.stale.push(format!(
                        "trial {i}: identity {iid} deleted on {} answers {st} on {}",
                        a.node, o.node
                    ));
                }
            }
            _ => {}
        }
    }
    // And on A itself.
    for t in &revoked {
        r.revocation_checks += 1;
        let (st, _) = a.whoami(&sessions[*t].1).await.unwrap();
        if st != 401 {
            r.stale.push(format!(
                "trial {i}: session {} revoked by {kind} on {} answers whoami {st} on the same node",
                sessions[*t].0, a.node
            ));
        }
    }
    if r.stale.is_empty() {
        r.clean_trials = 1;
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres_never_answer_stale() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let apis = Arc::new([nodes[0].api(), nodes[1].api(), nodes[2].api()]);
    let started = Instant::now();
    let reports: Vec<NodeReport> = futures::stream::iter(0..NODE_TRIALS)
        .map(|i| {
            let apis = apis.clone();
            async move { node_trial(i, &apis).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut total = NodeReport::default();
    let mut per_kind: HashMap<&str, (u64, u64)> = HashMap::new();
    for r in reports {
        let k = per_kind.entry(r.kind).or_default();
        k.0 += r.trials;
        k.1 += r.stale.len() as u64;
        total.trials += r.trials;
        total.clean_trials += r.clean_trials;
        total.login_checks += r.login_checks;
        total.revocation_checks += r.revocation_checks;
        total.survivor_checks += r.survivor_checks;
        total.stale.extend(r.stale);
    }
    let mut kinds: Vec<_> = per_kind.into_iter().collect();
    kinds.sort();
    println!(
        "[nodes postgres] 3 nodes, {} trials in {:.1} s ((trials, stale answers) per revocation: {:?}): {} trials without a stale answer; {} logins accepted at once on the two other nodes, {} revocation checks, {} current-session checks; {} stale answers",
        total.trials,
        started.elapsed().as_secs_f64(),
        kinds,
        total.clean_trials,
        total.login_checks,
        total.revocation_checks,
        total.survivor_checks,
        total.stale.len()
    );
    print_anomalies("[nodes postgres] stale answers", &total.stale);
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(
        total.stale.is_empty(),
        "{} stale answers across nodes (first: {})",
        total.stale.len(),
        total.stale[0]
    );
    assert_eq!(total.clean_trials, NODE_TRIALS as u64);
}

/// A fresh PostgreSQL database with three nodes on it, each caching sessions and listening for the
/// others' writes.
async fn three_nodes() -> (Db, [Node; 3]) {
    let db = Db::postgres().await;
    db.migrate();
    let mut nodes = [
        Node::new(&db, "node-a"),
        Node::new(&db, "node-b"),
        Node::new(&db, "node-c"),
    ];
    for n in nodes.iter_mut() {
        n.start().await;
    }
    assert_eq!(cache_listeners(&db).await, 3, "every node listens");
    (db, nodes)
}

/// How many nodes' session caches listen on this database (waits up to 10 s for all three).
async fn cache_listeners(db: &Db) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&db.dsn).await.unwrap();
    let mut n = 0;
    for _ in 0..100 {
        n = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'ostiary-cache:%'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        if n >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = c.close().await;
    n
}

/// Changes to what a session check shows (traits, public metadata, expiry) made on one node are
/// in the very next whoami on the others, whose caches held the old answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_cached_sessions_on_every_node() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let apis = [nodes[0].api(), nodes[1].api(), nodes[2].api()];
    let mut stale = Vec::new();
    let rounds = 30;
    for i in 0..rounds {
        let a = &apis[i % 3];
        let others = [&apis[(i + 1) % 3], &apis[(i + 2) % 3]];
        let e = email("change");
        let (st, ident) = a.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&ident));
        let iid = s(&ident["id"]);
        let (st, b) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "{}", show(&b));
        let (sid, tok) = (s(&b["session"]["id"]), s(&b["session_token"]));
        // Warm every cache (twice: the second answer comes from the cache).
        for o in apis.iter().chain(apis.iter()) {
            let (st, _) = o.whoami(&tok).await.unwrap();
            assert_eq!(st, 200);
        }
        let (st, before) = others[0].whoami(&tok).await.unwrap();
        assert_eq!(st, 200);
        let new_email = email("changed");
        let (st, b) = match i % 3 {
            0 => a
                .patch_identity(
                    &iid,
                    json!([{"op": "replace", "path": "/traits/email", "value": new_email}]),
                )
                .await
                .unwrap(),
            1 => a
                .patch_identity(
                    &iid,
                    json!([{"op": "add", "path": "/metadata_public", "value": {"round": i}}]),
                )
                .await
                .unwrap(),
            _ => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                a.extend_session(&sid).await.unwrap()
            }
        };
        assert_eq!(st, 200, "round {i}: {}", show(&b));
        for o in others {
            let (st, w) = o.whoami(&tok).await.unwrap();
            let seen = match i % 3 {
                0 => w["identity"]["traits"]["email"] == new_email.as_str(),
                1 => w["identity"]["metadata_public"]["round"] == i,
                _ => w["expires_at"] != before["expires_at"] && w["expires_at"] == b["expires_at"],
            };
            if st != 200 || !seen {
                stale.push(format!(
                    "round {i}: STALE: the change made on {} is not in whoami {st} on {}: {}",
                    a.node,
                    o.node,
                    show(&w)
                ));
            }
        }
    }
    println!(
        "[nodes postgres] cached sessions: {rounds} changes (traits, metadata_public, extend) each checked on two other nodes right away: {} stale answers",
        stale.len()
    );
    print_anomalies("[nodes postgres] stale answers", &stale);
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(stale.is_empty(), "{}", stale[0]);
}

/// A node that hangs (SIGSTOP: its connections stay open, it acknowledges nothing) while another
/// revokes a session it holds in its cache: the revocation is answered only once the hung node's
/// lease has run out, and when it wakes up its very next whoami refuses the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_never_serves_a_revoked_session() {
    if !postgres_available().await {
        return;
    }
    let (_db, mut nodes) = three_nodes().await;
    let [a, b, c] = [nodes[0].api(), nodes[1].api(), nodes[2].api()];
    let mut stale = Vec::new();
    for round in 0..2 {
        let e = email("hung");
        let (st, ident) = a.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&ident));
        let (st, b0) = a.login(&e).await.unwrap();
        assert_eq!(st, 200, "{}", show(&b0));
        let (sid, tok) = (s(&b0["session"]["id"]), s(&b0["session_token"]));
        for api in [&b, &b, &c, &c] {
            assert_eq!(api.whoami(&tok).await.unwrap().0, 200);
        }
        nodes[1].signal("-STOP");
        let started = Instant::now();
        let (st, body) = if round == 0 {
            a.admin_disable_session(&sid).await.unwrap()
        } else {
            a.logout(&tok).await.unwrap()
        };
        let took = started.elapsed();
        nodes[1].signal("-CONT");
        assert_eq!(st, 204, "{}", show(&body));
        for (api, name) in [(&b, "the woken node"), (&c, "a live node")] {
            let (st, _) = api.whoami(&tok).await.unwrap();
            if st != 401 {
                stale.push(format!(
                    "round {round}: STALE: {name} answers whoami {st} for a revoked session"
                ));
            }
        }
        println!(
            "[nodes postgres] hung node, round {round}: the revocation was answered after {:.2} s (lease {} s)",
            took.as_secs_f64(),
            ostiary::session::cache_sync::LEASE.as_secs()
        );
    }
    for n in nodes.iter_mut() {
        n.kill();
    }
    assert!(stale.is_empty(), "{stale:?}");
}

// ---------------------------------------------------------------------------------------------
