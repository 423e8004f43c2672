//! Every list query, with every filter and sort, is answered from an index: each SELECT a
//! request runs is explained by the database (`EXPLAIN` on MySQL/MariaDB, `EXPLAIN QUERY
//! PLAN` on SQLite) over thousands of synthetic orders, and the test fails on a full scan
//! of a table or on a sort done outside an index for a paginated (LIMIT) query.

use paylater::{
    domain::staff::StaffRole,
    graphql::ids::{NodeKind, encode},
    synthetic::{self, CONSUMER_PASSWORD, Volume},
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::{
    fixtures::{place_order, shopper},
    helpers::{TestApp, TestMerchant},
};

/// Tables with fewer rows are read whole more cheaply than through an index, and
/// planners that keep statistics rightly do so.
const LARGE_TABLE_ROWS: i64 = 1_000;

/// What the database said about one statement, if it found a problem.
async fn problems(app: &TestApp, tables: &[String], statement: &Statement) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let sql = statement.sql.as_str();
    let paginated = sql.contains(" LIMIT ");
    let unfiltered_page = paginated && !sql.contains(" WHERE ");
    let prefix = match backend {
        DbBackend::Sqlite => "EXPLAIN QUERY PLAN ",
        _ => "EXPLAIN ",
    };
    let explained = Statement {
        sql: format!("{prefix}{sql}"),
        values: statement.values.clone(),
        db_backend: backend,
    };
    let rows = app.db.query_all_raw(explained).await.expect("explain");
    let judged = |table: &str| tables.iter().any(|t| t == table);
    let mut found = Vec::new();
    let mut plan = Vec::new();
    for row in rows {
        if backend == DbBackend::Sqlite {
            let detail: String = row.try_get("", "detail").expect("detail");
            plan.push(detail.clone());
            let scanned = detail
                .strip_prefix("SCAN ")
                .and_then(|rest| rest.split_whitespace().next())
                .filter(|table| judged(table));
            // Walking a whole index in order reads only the page, unless a filter the
            // index does not hold makes the walk skip rows.
            let ordered_walk = unfiltered_page && detail.contains(" USING ");
            if scanned.is_some() && !ordered_walk {
                found.push(format!("full scan: {detail}"));
            }
            if paginated && detail.contains("TEMP B-TREE") {
                found.push(format!("sort outside an index: {detail}"));
            }
        } else {
            let table: Option<String> = row.try_get("", "table").expect("table");
            let access: Option<String> = row.try_get("", "type").expect("type");
            let extra: Option<String> = row.try_get("", "Extra").expect("Extra");
            let (table, access, extra) = (
                table.unwrap_or_default(),
                access.unwrap_or_default(),
                extra.unwrap_or_default(),
            );
            let key: Option<String> = row.try_get("", "key").expect("key");
            let possible: Option<String> = row.try_get("", "possible_keys").expect("possible");
            plan.push(format!(
                "{table}: {access} by {key:?} of {possible:?}, {extra}"
            ));
            let full = access == "ALL" || (access == "index" && !unfiltered_page);
            if judged(&table) && full {
                found.push(format!("full scan of {table} ({access}, {extra})"));
            }
            // With statistics, sorting a small table beats reading an index; SQLite,
            // without them, shows the index shape for those.
            let sorted = extra.contains("filesort") || extra.contains("temporary");
            if paginated && judged(&table) && sorted {
                found.push(format!("sort outside an index on {table}: {extra}"));
            }
        }
    }
    found
        .into_iter()
        .map(|problem| format!("{problem}\n    in {sql}\n    plan: {}", plan.join("; ")))
        .collect()
}

/// The tables holding at least [`LARGE_TABLE_ROWS`] rows.
async fn large_tables(app: &TestApp) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        _ => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    let names = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("tables")
        .into_iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("name"));
    let mut large = Vec::new();
    for name in names {
        let count = Statement::from_string(backend, format!("SELECT COUNT(*) FROM {name}"));
        let rows = app.db.query_one_raw(count).await.expect("count");
        let rows: i64 = rows.expect("a row").try_get_by_index(0).expect("count");
        if rows >= LARGE_TABLE_ROWS {
            large.push(name);
        }
    }
    large
}

/// Runs each request, which must succeed, and explains every SELECT it ran.
struct Explainer<'a> {
    app: &'a TestApp,
    tables: Vec<String>,
    explained: usize,
    problems: Vec<String>,
}

impl Explainer<'_> {
    async fn request(&mut self, token: &str, query: &str, variables: Value) {
        let (body, statements) = self
            .app
            .recording(self.app.gql(Some(token), query, variables.clone()))
            .await;
        assert!(body["errors"].is_null(), "{query} {variables}: {body}");
        for statement in statements
            .iter()
            .filter(|s| s.sql.trim_start().to_uppercase().starts_with("SELECT"))
        {
            self.explained += 1;
            let found = problems(self.app, &self.tables, statement).await;
            self.problems.extend(
                found
                    .into_iter()
                    .map(|problem| format!("{query} {variables}:\n  {problem}")),
            );
        }
    }

    /// `field` of `root` with every sort, each filter alone and all together, and pages
    /// after a cursor and from the end.
    async fn list(&mut self, token: &str, root: &str, field: &str, shape: &ListShape<'_>) {
        let list = format!(
            "{field}(first: $first, last: $last, after: $after, filter: $filter, {sort}) {{
                {count} pageInfo {{ endCursor }} nodes {{ {nodes} }} }}",
            count = if shape.counted { "totalCount" } else { "" },
            sort = shape.sort_argument,
            nodes = shape.nodes,
        );
        let selection = if root.is_empty() {
            list
        } else {
            format!("{root} {{ {list} }}")
        };
        let query = format!(
            "query($first: Int, $last: Int, $after: String, $filter: {}, {}) {{ {selection} }}",
            shape.filter_type, shape.sort_variable,
        );
        let mut variables = Vec::new();
        for sort in &shape.sorts {
            variables.push(json!({ "first": 20, "sort": sort }));
            variables.push(json!({ "last": 20, "sort": sort }));
        }
        for filter in &shape.filters {
            variables.push(json!({ "first": 20, "filter": filter }));
        }
        let all: serde_json::Map<String, Value> = shape
            .filters
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|f| f.clone())
            .collect();
        variables.push(json!({ "first": 20, "filter": all }));
        for variables in variables {
            self.request(token, &query, variables).await;
        }
        // The second page, by cursor, in each order.
        for sort in &shape.sorts {
            let first = self
                .app
                .gql(Some(token), &query, json!({ "first": 20, "sort": sort }))
                .await;
            let data = &first["data"];
            let list = if root.is_empty() { data } else { &data[root] };
            let cursor = list[field]["pageInfo"]["endCursor"].clone();
            assert!(cursor.is_string(), "{first}");
            self.request(
                token,
                &query,
                json!({ "first": 20, "sort": sort, "after": cursor }),
            )
            .await;
        }
    }
}

/// How one list field is called.
struct ListShape<'a> {
    /// Whether `totalCount` is asked for.
    counted: bool,
    filter_type: &'a str,
    sort_variable: &'a str,
    sort_argument: &'a str,
    sorts: Vec<Value>,
    filters: Vec<Value>,
    nodes: &'a str,
}

fn order_list(nodes: &str) -> ListShape<'_> {
    ListShape {
        counted: true,
        filter_type: "OrderFilterInput",
        sort_variable: "$sort: OrderSortInput",
        sort_argument: "sort: $sort",
        sorts: vec![
            json!({ "field": "CREATED_AT", "direction": "DESC" }),
            json!({ "field": "CREATED_AT", "direction": "ASC" }),
        ],
        filters: vec![
            json!({ "status": "CAPTURED" }),
            json!({ "createdAfter": "2026-09-01T00:00:00Z" }),
            json!({ "createdBefore": "2026-12-01T00:00:00Z" }),
            json!({ "merchantReference": "ord_none" }),
        ],
        nodes,
    }
}

fn audit_filters() -> Vec<Value> {
    vec![
        json!({ "action": "order.authorized" }),
        json!({ "actorId": uuid::Uuid::nil().to_string() }),
        json!({ "targetId": uuid::Uuid::nil().to_string() }),
        json!({ "createdAfter": "2026-09-01T00:00:00Z" }),
        json!({ "createdBefore": "2027-12-01T00:00:00Z" }),
    ]
}

fn directions() -> Vec<Value> {
    vec![json!("DESC"), json!("ASC")]
}

async fn login(app: &TestApp, email: &str) -> String {
    let body = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { session { accessToken } } }",
            json!({ "e": email, "p": CONSUMER_PASSWORD }),
        )
        .await;
    body["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

#[tokio::test]
async fn every_list_query_is_answered_from_an_index() {
    let app = TestApp::spawn().await;
    let population = synthetic::populate(
        &app.state.deps,
        Volume {
            merchants: 20,
            consumers: 1_200,
            orders: 4_000,
            open_checkouts: 40,
            seed: 6,
        },
        |_| {},
    )
    .await
    .expect("synthetic data");
    let merchant = &population.merchants[0];
    let merchant = TestMerchant {
        id: encode(NodeKind::Merchant, merchant.id).0,
        key: merchant.api_key.clone(),
    };
    // Webhook deliveries and audit entries come from real orders.
    let hook = app
        .gql(
            Some(&merchant.key),
            "mutation { setWebhookEndpoint(input: { url: \"http://127.0.0.1:9/hook\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        hook["data"]["setWebhookEndpoint"]["userErrors"],
        json!([]),
        "{hook}"
    );
    let ada = shopper(&app, "ada@example.com").await;
    for i in 0..5 {
        place_order(&app, &merchant, &ada, &format!("explain-{i}"), "PAY_IN_3").await;
    }
    app.run_jobs("2027-01-31T10:00:00Z").await;
    // Plans depend on statistics. InnoDB keeps them as tables grow; analysing now makes
    // them current. paylater never analyses a SQLite database, whose planner then goes
    // by the shape of the indexes alone, as it does here.
    let large = large_tables(&app).await;
    if app.db.get_database_backend() != DbBackend::Sqlite {
        let analyze = format!("ANALYZE TABLE {}", large.join(", "));
        app.db.execute_unprepared(&analyze).await.expect("analyze");
    }
    let admin = app.staff("admin@paylater.test", StaffRole::Admin).await;
    let consumer = login(&app, &population.consumers[0].email).await;
    let mut explainer = Explainer {
        app: &app,
        tables: large,
        explained: 0,
        problems: Vec::new(),
    };

    let order_nodes = "id items { name } installments { status } payments { status }
        refunds { id } merchant { name } customer { email }";
    explainer
        .list(
            &merchant.key,
            "merchant",
            "orders",
            &order_list(order_nodes),
        )
        .await;
    explainer
        .list(&consumer, "me", "orders", &order_list(order_nodes))
        .await;
    explainer
        .list(
            &merchant.key,
            "merchant",
            "checkouts",
            &ListShape {
                counted: true,
                filter_type: "CheckoutFilterInput",
                sort_variable: "$sort: CheckoutSortInput",
                sort_argument: "sort: $sort",
                sorts: ["CREATED_AT", "EXPIRES_AT"]
                    .iter()
                    .flat_map(|field| {
                        ["DESC", "ASC"]
                            .map(|direction| json!({ "field": field, "direction": direction }))
                    })
                    .collect(),
                filters: ["OPEN", "COMPLETED", "CANCELLED", "EXPIRED"]
                    .iter()
                    .map(|status| json!({ "status": status }))
                    .chain([
                        json!({ "createdAfter": "2026-09-01T00:00:00Z" }),
                        json!({ "createdBefore": "2026-12-01T00:00:00Z" }),
                        json!({ "merchantReference": "ord_none" }),
                    ])
                    .collect(),
                nodes: "id status items { name } availablePlans { plan }",
            },
        )
        .await;
    explainer
        .list(
            &merchant.key,
            "merchant",
            "webhookDeliveries",
            &ListShape {
                counted: true,
                filter_type: "WebhookDeliveryFilterInput",
                sort_variable: "$sort: SortDirection",
                sort_argument: "direction: $sort",
                sorts: directions(),
                filters: vec![
                    json!({ "status": "PENDING" }),
                    json!({ "eventType": "ORDER_AUTHORIZED" }),
                ],
                nodes: "id status attempts { number }",
            },
        )
        .await;
    explainer
        .list(
            &admin.token,
            "",
            "auditLog",
            &ListShape {
                // Counting the whole log reads all of it, whatever the index: filtered
                // counts are checked below.
                counted: false,
                filter_type: "AuditLogFilterInput",
                sort_variable: "$sort: SortDirection",
                sort_argument: "direction: $sort",
                sorts: directions(),
                filters: audit_filters(),
                nodes: "id action",
            },
        )
        .await;
    for filter in audit_filters() {
        explainer
            .request(
                &admin.token,
                "query($f: AuditLogFilterInput) { auditLog(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await;
    }
    explainer
        .request(
            &merchant.key,
            "{ merchant { apiKeys(first: 20) { totalCount nodes { id } } } }",
            json!({}),
        )
        .await;
    explainer
        .request(
            &consumer,
            "{ me { upcomingInstallments { sequence } spendingLimit { available { amount } }
                paymentMethods { id } } }",
            json!({}),
        )
        .await;

    assert!(explainer.explained > 100, "{}", explainer.explained);
    assert!(
        explainer.problems.is_empty(),
        "{} problems:\n{}",
        explainer.problems.len(),
        explainer.problems.join("\n")
    );
}
