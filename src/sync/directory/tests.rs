//! The directory streams' mapping, checked on the documents' example answers, verbatim.

use serde::Deserialize;
use serde_json::Value;

use super::SharedSeen;
use super::departments::{Columns as DepartmentColumns, DepartmentPage};
use super::user_rows::{Columns as UserColumns, UserPage, id_field};
use super::users::warn_missing_field_scopes;
use super::{ContactRange, ScopesPage};
use crate::feishu::UserIdType;
use crate::sync::columns::ColumnBuilder;

/// "获取子部门列表", response example.
const CHILDREN_EXAMPLE: &str = r#"{
    "code":0,
    "msg":"success",
    "data":{
        "has_more":true,
        "page_token":"AQD9/Rn9eij9Pm39ED40/RD/cIFmu77WxpxPB/2oHfQLZ+G8JG6tK7+ZnHiT7COhD2hMSICh/eBl7cpzU6JEC3J7COKNe4jrQ8ExwBCR",
        "items":[
            {
                "name":"DemoName",
                "i18n_name":{
                    "zh_cn":"Demo名称",
                    "ja_jp":"デモ名",
                    "en_us":"Demo Name"
                },
                "parent_department_id":"D067",
                "department_id":"D096",
                "open_department_id":"od-4e6ac4d14bcd5071a37a39de902c7141",
                "leader_user_id":"ou_7dab8a3d3cdcc9da365777c7ad535d62",
                "chat_id":"oc_5ad11d72b830411d72b836c20",
                "order":"100",
                "unit_ids":[
                    "custom_unit_id"
                ],
                "member_count":100,
                "status":{
                    "is_deleted":false
                },
                "leaders":[
                    {
                        "leaderType":1,
                        "leaderID":"ou_7dab8a3d3cdcc9da365777c7ad535d62"
                    }
                ],
                "department_hrbps":[
                    "ou_10430f87894fce18e57891c48995cd7c"
                ]
            }
        ]
    }
}"#;

/// "获取部门直属用户列表", response example.
const FIND_BY_DEPARTMENT_EXAMPLE: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "has_more": true,
        "page_token": "AQD9/Rn9eij9Pm39ED40/RD/cIFmu77WxpxPB/2oHfQLZ%2BG8JG6tK7%2BZnHiT7COhD2hMSICh/eBl7cpzU6JEC3J7COKNe4jrQ8ExwBCR",
        "items": [
            {
                "union_id": "on_94a1ee5551019f18cd73d9f111898cf2",
                "user_id": "3e3cf96b",
                "open_id": "ou_7dab8a3d3cdcc9da365777c7ad535d62",
                "name": "张三",
                "en_name": "San Zhang",
                "nickname": "Alex Zhang",
                "email": "zhangsan@gmail.com",
                "mobile": "13011111111",
                "mobile_visible": false,
                "gender": 1,
                "avatar_key": "2500c7a9-5fff-4d9a-a2de-3d59614ae28g",
                "avatar": {
                    "avatar_72": "https://foo.icon.com/xxxx",
                    "avatar_240": "https://foo.icon.com/xxxx",
                    "avatar_640": "https://foo.icon.com/xxxx",
                    "avatar_origin": "https://foo.icon.com/xxxx"
                },
                "status": {
                    "is_frozen": false,
                    "is_resigned": false,
                    "is_activated": true,
                    "is_exited": false,
                    "is_unjoin": false
                },
                "department_ids": [
                    "od-4e6ac4d14bcd5071a37a39de902c7141"
                ],
                "leader_user_id": "ou_7dab8a3d3cdcc9da365777c7ad535d62",
                "city": "杭州",
                "country": "CN",
                "work_station": "北楼-H34",
                "join_time": 2147483647,
                "is_tenant_manager": false,
                "employee_no": "1",
                "employee_type": 1,
                "orders": [
                    {
                        "department_id": "od-4e6ac4d14bcd5071a37a39de902c7141",
                        "user_order": 100,
                        "department_order": 100,
                        "is_primary_dept": true
                    }
                ],
                "custom_attrs": [
                    {
                        "type": "TEXT",
                        "id": "DemoId",
                        "value": {
                            "text": "DemoText",
                            "url": "http://www.fs.cn",
                            "pc_url": "http://www.fs.cn",
                            "option_id": "edcvfrtg",
                            "option_value": "option",
                            "name": "name",
                            "picture_url": "https://xxxxxxxxxxxxxxxxxx",
                            "generic_user": {
                                "id": "9b2fabg5",
                                "type": 1
                            }
                        }
                    }
                ],
                "enterprise_email": "demo@mail.com",
                "job_title": "xxxxx",
                "is_frozen": false,
                "geo": "cn",
                "job_level_id": "mga5oa8ayjlp9rb",
                "job_family_id": "mga5oa8ayjlp9rb",
                "department_path": [
                    {
                        "department_id": "od-4e6ac4d14bcd5071a37a39de902c7141",
                        "department_name": {
                            "name": "测试部门名1",
                            "i18n_name": {
                                "zh_cn": "测试部门名1",
                                "ja_jp": "試験部署名 1",
                                "en_us": "Test department name 1"
                            }
                        },
                        "department_path": {
                            "department_ids": [
                                "od-4e6ac4d14bcd5071a37a39de902c7141"
                            ],
                            "department_path_name": {
                                "name": "测试部门名1",
                                "i18n_name": {
                                    "zh_cn": "测试部门名1",
                                    "ja_jp": "試験部署名 1",
                                    "en_us": "Test department name 1"
                                }
                            }
                        }
                    }
                ],
                "dotted_line_leader_user_ids": [
                    "ou_7dab8a3d3cdcc9da365777c7ad535d62"
                ]
            }
        ]
    }
}"#;

/// "获取通讯录授权范围", response example.
const SCOPES_EXAMPLE: &str = r#"{
    "code": 0,
    "data": {
        "department_ids": [
            "75217143312g9842"
        ],
        "group_ids": [
            "4bgga762"
        ],
        "has_more": true,
        "page_token": "AQD9/Rn9eij9Pm39ED40/e4EuQbBea/ybCE7/PQ1yzQXAVoq7bxTVC%2BI1oJqeoRY",
        "user_ids": [
            "9b2fabg6"
        ]
    },
    "msg": "success"
}"#;

/// "获取单个用户信息", response example.
const USER_EXAMPLE: &str = r#"{
    "code": 0,
    "msg": "success",
    "data": {
        "user": {
            "union_id": "on_94a1ee5551019f18cd73d9f111898cf2",
            "user_id": "3e3cf96b",
            "open_id": "ou_7dab8a3d3cdcc9da365777c7ad535d62",
            "name": "张三",
            "en_name": "San Zhang",
            "nickname": "Alex Zhang",
            "email": "zhangsan@gmail.com",
            "mobile": "13011111111",
            "mobile_visible": false,
            "gender": 1,
            "avatar": {
                "avatar_72": "https://foo.icon.com/xxxx",
                "avatar_240": "https://foo.icon.com/xxxx",
                "avatar_640": "https://foo.icon.com/xxxx",
                "avatar_origin": "https://foo.icon.com/xxxx"
            },
            "status": {
                "is_frozen": false,
                "is_resigned": false,
                "is_activated": true,
                "is_exited": false,
                "is_unjoin": false
            },
            "department_ids": [
                "od-4e6ac4d14bcd5071a37a39de902c7141"
            ],
            "leader_user_id": "ou_7dab8a3d3cdcc9da365777c7ad535d62",
            "city": "杭州",
            "country": "CN",
            "work_station": "北楼-H34",
            "join_time": 2147483647,
            "is_tenant_manager": false,
            "employee_no": "1",
            "employee_type": 1,
            "orders": [
                {
                    "department_id": "od-4e6ac4d14bcd5071a37a39de902c7141",
                    "user_order": 100,
                    "department_order": 100,
                    "is_primary_dept": true
                }
            ],
            "custom_attrs": [
                {
                    "type": "TEXT",
                    "id": "DemoId",
                    "value": {
                        "text": "DemoText",
                        "url": "http://www.fs.cn",
                        "pc_url": "http://www.fs.cn",
                        "option_value": "option",
                        "name": "name",
                        "picture_url": "https://xxxxxxxxxxxxxxxxxx",
                        "generic_user": {
                            "id": "9b2fabg5",
                            "type": 1
                        }
                    }
                }
            ],
            "enterprise_email": "demo@mail.com",
            "job_title": "xxxxx",
            "geo": "cn",
            "job_level_id": "mga5oa8ayjlp9rb",
            "job_family_id": "mga5oa8ayjlp9rb",
            "assign_info": [
                {
                    "subscription_id": "7079609167680782300",
                    "license_plan_key": "suite_enterprise_e5",
                    "product_name": "旗舰版 E5",
                    "i18n_name": {
                        "zh_cn": "zh_cn_name",
                        "ja_jp": "ja_jp_name",
                        "en_us": "en_name"
                    },
                    "start_time": "1674981000",
                    "end_time": "1674991000"
                }
            ],
            "department_path": [
                {
                    "department_id": "od-4e6ac4d14bcd5071a37a39de902c7141",
                    "department_name": {
                        "name": "测试部门名1",
                        "i18n_name": {
                            "zh_cn": "测试部门名1",
                            "ja_jp": "試験部署名 1",
                            "en_us": "Testing department name 1"
                        }
                    },
                    "department_path": {
                        "department_ids": [
                            "od-4e6ac4d14bcd5071a37a39de902c7141"
                        ],
                        "department_path_name": {
                            "name": "测试部门名1",
                            "i18n_name": {
                                "zh_cn": "测试部门名1",
                                "ja_jp": "試験部署名 1",
                                "en_us": "Testing department name 1"
                            }
                        }
                    }
                }
            ],
            "dotted_line_leader_user_ids": [
                "ou_7dab8a3d3cdcc9da365777c7ad535d62"
            ]
        }
    }
}"#;

fn data(example: &str) -> Value {
    let envelope: Value = serde_json::from_str(example).unwrap();
    assert_eq!(envelope["code"], 0);
    envelope["data"].clone()
}

#[test]
fn the_children_example_maps_to_department_rows() {
    let page = DepartmentPage::deserialize(&data(CHILDREN_EXAMPLE)).unwrap();
    let (c, rejected) = DepartmentColumns::from_records(page.items, "open_department_id");
    assert_eq!(rejected, []);
    assert_eq!(c.id, ["od-4e6ac4d14bcd5071a37a39de902c7141"]);
    assert_eq!(c.department_id, [Some("D096".to_string())]);
    assert_eq!(c.parent_id, [Some("D067".to_string())]);
    assert_eq!(c.name, [Some("DemoName".to_string())]);
    assert_eq!(c.name_zh, [Some("Demo名称".to_string())]);
    assert_eq!(c.name_en, [Some("Demo Name".to_string())]);
    assert_eq!(
        c.leader_user_id,
        [Some("ou_7dab8a3d3cdcc9da365777c7ad535d62".to_string())]
    );
    assert_eq!(c.member_count, [Some(100)]);
    assert_eq!(c.sort_order, [Some(100)]);
    assert_eq!(
        c.leader_user_ids,
        [serde_json::json!(["ou_7dab8a3d3cdcc9da365777c7ad535d62"])]
    );
    assert_eq!(c.deputy_leader_user_ids, [serde_json::json!([])]);
    assert_eq!(c.primary_member_count, [None], "not in this example");
    assert_eq!(c.raw[0]["chat_id"], "oc_5ad11d72b830411d72b836c20");
}

#[test]
fn the_find_by_department_example_maps_to_user_rows() {
    let page = UserPage::deserialize(&data(FIND_BY_DEPARTMENT_EXAMPLE)).unwrap();
    let (c, rejected) = UserColumns::build(page.items, id_field(UserIdType::OpenId));
    assert_eq!(rejected, []);
    assert_eq!(c.id, ["ou_7dab8a3d3cdcc9da365777c7ad535d62"]);
    assert_eq!(c.name, [Some("张三".to_string())]);
    assert_eq!(c.email, [Some("zhangsan@gmail.com".to_string())]);
    assert_eq!(c.employee_type, [Some(1)]);
    assert_eq!(c.join_time[0].unwrap().timestamp(), 2147483647);
    assert_eq!(c.is_resigned, [Some(false)]);
    assert_eq!(c.is_exited, [Some(false)]);
    assert_eq!(c.is_unjoin, [Some(false)]);
    assert_eq!(c.gender, [Some(1)]);
    assert_eq!(c.job_level_id, [Some("mga5oa8ayjlp9rb".to_string())]);
    assert_eq!(c.job_family_id, [Some("mga5oa8ayjlp9rb".to_string())]);
    assert_eq!(
        c.dotted_line_leader_user_ids,
        [Some(vec![
            "ou_7dab8a3d3cdcc9da365777c7ad535d62".to_string()
        ])]
    );
    assert_eq!(
        c.departments,
        [Some(vec![
            "od-4e6ac4d14bcd5071a37a39de902c7141".to_string()
        ])]
    );
    assert_eq!(
        c.is_primary(0, "od-4e6ac4d14bcd5071a37a39de902c7141"),
        Some(true)
    );
    assert_eq!(
        c.is_primary(0, "od-elsewhere"),
        None,
        "no orders entry: unknown"
    );
}

#[test]
fn the_user_example_keys_by_the_configured_id_type() {
    let user = data(USER_EXAMPLE)["user"].clone();
    let (by_user_id, _) = UserColumns::build(vec![user.clone()], id_field(UserIdType::UserId));
    let (by_union_id, _) = UserColumns::build(vec![user.clone()], id_field(UserIdType::UnionId));
    assert_eq!(by_user_id.id, ["3e3cf96b"]);
    assert_eq!(by_union_id.id, ["on_94a1ee5551019f18cd73d9f111898cf2"]);

    let mut without_scope = user;
    without_scope.as_object_mut().unwrap().remove("user_id");
    without_scope.as_object_mut().unwrap().remove("email");
    let (c, rejected) =
        UserColumns::build(vec![without_scope.clone()], id_field(UserIdType::UserId));
    assert_eq!(c.id.len(), 0);
    assert!(
        rejected[0].reason.contains("without user_id"),
        "{}",
        rejected[0].reason
    );
    let (c, rejected) = UserColumns::build(vec![without_scope], id_field(UserIdType::OpenId));
    assert_eq!(
        (rejected.len(), c.email[0].clone()),
        (0, None),
        "an absent field is NULL"
    );
}

#[test]
fn a_page_without_status_or_departments_names_the_missing_scopes_once() {
    let page = UserPage::deserialize(&data(FIND_BY_DEPARTMENT_EXAMPLE)).unwrap();
    let seen = SharedSeen::default();
    assert_eq!(
        warn_missing_field_scopes(&page.items, &seen),
        Vec::<&str>::new()
    );
    let mut hidden = page.items[0].clone();
    let fields = hidden.as_object_mut().unwrap();
    fields.remove("status");
    fields.remove("department_ids");
    let records = vec![hidden];
    assert_eq!(
        warn_missing_field_scopes(&records, &seen),
        ["status", "department_ids"]
    );
    assert_eq!(
        warn_missing_field_scopes(&records, &seen),
        Vec::<&str>::new(),
        "once per pass"
    );
    let (c, rejected) = UserColumns::build(records, id_field(UserIdType::OpenId));
    assert_eq!(rejected, []);
    assert_eq!(
        (c.is_resigned[0], c.is_exited[0], c.is_unjoin[0]),
        (None, None, None),
        "hidden flags are NULL, never false"
    );
}

#[test]
fn the_scopes_example_gives_departments_and_users() {
    let mut range = ContactRange::default();
    range.add(ScopesPage::deserialize(&data(SCOPES_EXAMPLE)).unwrap());
    assert_eq!(range.departments, ["75217143312g9842"]);
    assert_eq!(range.users, ["9b2fabg6"]);
    assert_eq!(range.groups, ["4bgga762"]);
}

proptest::proptest! {
    /// Any JSON gives a row or an error, never a panic.
    #[test]
    fn any_record_maps_or_errors_without_panicking(record in crate::property_test_json::json()) {
        let _ = DepartmentColumns::from_records(vec![record.clone()], "open_department_id");
        let _ = UserColumns::build(vec![record], "open_id");
    }
}
