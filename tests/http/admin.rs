//! Account administration, dashboard figures and the audit trail.

use devforge_domain::Role;
use devforge_tests::{assert_problem, json, on_every_backend};
use serde_json::json;

on_every_backend! {
    async fn admins_list_users_filtered_by_role_and_email(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        app.account_with_role("helper@example.com", Role::Support).await;
        for n in 0..3 {
            app.register(&format!("user{n}@customers.test")).await;
        }
        let all = json(app.get("/v1/admin/users", Some(&admin.token)).await).await;
        assert_eq!(all["total"], 5);
        assert_eq!(all["page"], 1);
        assert_eq!(all["per_page"], 20);

        let support = json(app.get("/v1/admin/users?role=support", Some(&admin.token)).await).await;
        assert_eq!(support["total"], 1);
        assert_eq!(support["items"][0]["email"], "helper@example.com");

        let customers = json(app.get("/v1/admin/users?email=CUSTOMERS&per_page=2&page=2", Some(&admin.token)).await).await;
        assert_eq!(customers["total"], 3);
        assert_eq!(customers["items"].as_array().map(Vec::len), Some(1));

        let wildcard = json(app.get("/v1/admin/users?email=%25", Some(&admin.token)).await).await;
        assert_eq!(wildcard["total"], 0, "LIKE wildcards are taken literally");
    }
}

on_every_backend! {
    async fn changing_a_role_applies_at_once_and_is_audited(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let user = app.register("ada@example.com").await;
        let response = app.patch(&format!("/v1/admin/users/{}", user.id), json!({"role": "support"}), Some(&admin.token)).await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert_eq!(body["role"], "support");
        assert_eq!(body["disabled"], false);

        let me = json(app.get("/v1/auth/me", Some(&user.token)).await).await;
        assert_eq!(me["role"], "support", "the stored role wins over the token's");

        let audit = json(app.get("/v1/admin/audit", Some(&admin.token)).await).await;
        let newest = &audit["items"][0];
        assert_eq!(newest["action"], "user.updated");
        assert_eq!(newest["actor_id"], admin.id.as_str());
        assert_eq!(newest["target_type"], "user");
        assert_eq!(newest["target_id"], user.id.as_str());
        assert_eq!(newest["detail"]["before"]["role"], "user");
        assert_eq!(newest["detail"]["after"]["role"], "support");
        assert!(audit["total"].as_u64().is_some_and(|n| n >= 2), "creation of the admin is audited too");
    }
}

on_every_backend! {
    async fn an_admin_cannot_demote_or_disable_themself(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let path = format!("/v1/admin/users/{}", admin.id);
        assert_problem(app.patch(&path, json!({"role": "user"}), Some(&admin.token)).await, 409, "cannot_modify_self").await;
        assert_problem(app.patch(&path, json!({"disabled": true}), Some(&admin.token)).await, 409, "cannot_modify_self").await;
    }
}

on_every_backend! {
    async fn patching_an_unknown_user_is_not_found(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let path = format!("/v1/admin/users/{}", uuid::Uuid::new_v4());
        assert_problem(app.patch(&path, json!({"disabled": true}), Some(&admin.token)).await, 404, "not_found").await;
    }
}

on_every_backend! {
    async fn stats_count_accounts_by_role_and_state(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        app.account_with_role("helper@example.com", Role::Support).await;
        let user = app.register("ada@example.com").await;
        app.register("bob@example.com").await;
        app.patch(&format!("/v1/admin/users/{}", user.id), json!({"disabled": true}), Some(&admin.token)).await;

        let stats = json(app.get("/v1/admin/stats", Some(&admin.token)).await).await;
        assert_eq!(stats["users"]["total"], 4);
        assert_eq!(stats["users"]["disabled"], 1);
        assert_eq!(stats["users"]["by_role"], json!({"admin": 1, "support": 1, "user": 2}));
    }
}
