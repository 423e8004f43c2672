//! A consumer's cards in the API: add one from a gateway token, choose the default,
//! remove one. Card numbers never reach paylater; a card is its gateway token.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::payment_method;

use super::{
    context::{ConsumerGuard, actor, consumer, deps},
    errors::{UserError, payload_parts},
    ids::{NodeKind, decode, encode},
    scalars::DateTime,
};
use crate::{domain::card::CardBrand as Brand, service::payment_methods};

/// A card network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Brand")]
pub enum CardBrand {
    /// Visa.
    Visa,
    /// Mastercard.
    Mastercard,
    /// American Express.
    Amex,
    /// Another network.
    Other,
}

/// A consumer's card, as the gateway described it. Instalments are charged to it.
#[derive(Clone)]
pub struct PaymentMethod(pub payment_method::Model);

/// A consumer's card, as the gateway described it. Instalments are charged to it.
#[Object]
impl PaymentMethod {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::PaymentMethod, self.0.id)
    }

    /// The card network.
    async fn brand(&self) -> CardBrand {
        Brand::parse(&self.0.brand).into()
    }

    /// Last four digits of the card number.
    async fn last4(&self) -> &str {
        &self.0.last4
    }

    /// Expiry month, 1 to 12.
    async fn exp_month(&self) -> i32 {
        self.0.exp_month
    }

    /// Expiry year, four digits.
    async fn exp_year(&self) -> i32 {
        self.0.exp_year
    }

    /// Charged when no other card is named; one card is the default.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }
}

/// A card to add.
#[derive(Debug, Clone, InputObject)]
pub struct AddPaymentMethodInput {
    /// The token the gateway's client SDK returned: with Stripe, the PaymentMethod id
    /// (`pm_…`) from Stripe.js; in the sandbox, the token of `POST /sandbox/tokenize`.
    #[graphql(secret)]
    pub token: String,
}

/// A card to act on.
#[derive(Debug, Clone, InputObject)]
pub struct PaymentMethodIdInput {
    /// The card's global ID.
    pub id: ID,
}

/// Result of `addPaymentMethod` and `setDefaultPaymentMethod`.
#[derive(SimpleObject)]
pub struct PaymentMethodPayload {
    /// The card; null when the input was refused.
    pub payment_method: Option<PaymentMethod>,
    /// What to fix (`INVALID_PAYMENT_TOKEN`, `CARD_EXPIRED`); empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `removePaymentMethod`.
#[derive(SimpleObject)]
pub struct RemovePaymentMethodPayload {
    /// The removed card's ID; null when the removal was refused.
    pub removed_payment_method_id: Option<ID>,
    /// `PAYMENT_METHOD_IN_USE` when it is the last card and instalments are still due.
    pub user_errors: Vec<UserError>,
}

/// Payment method mutations, for consumers.
#[derive(Default)]
pub struct PaymentMethodMutation;

#[Object]
impl PaymentMethodMutation {
    /// Adds a card from a gateway token; the first card becomes the default. A card you
    /// already have (the same card, even tokenized again) is not added twice: you get the
    /// payment method you have, with the expiry of the new token and charged through it.
    #[graphql(guard = "ConsumerGuard")]
    async fn add_payment_method(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The gateway token.")] input: AddPaymentMethodInput,
    ) -> async_graphql::Result<PaymentMethodPayload> {
        let consumer = consumer(ctx)?;
        let result =
            payment_methods::add(deps(ctx)?, &actor(ctx), consumer.consumer_id, &input.token).await;
        let (method, user_errors) = payload_parts(result)?;
        Ok(PaymentMethodPayload {
            payment_method: method.map(PaymentMethod),
            user_errors,
        })
    }

    /// Makes one of your cards the default.
    #[graphql(guard = "ConsumerGuard")]
    async fn set_default_payment_method(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which card.")] input: PaymentMethodIdInput,
    ) -> async_graphql::Result<PaymentMethodPayload> {
        let consumer = consumer(ctx)?;
        let id = decode(&input.id, NodeKind::PaymentMethod)?;
        let result = payment_methods::set_default(deps(ctx)?, consumer.consumer_id, id).await;
        let (method, user_errors) = payload_parts(result)?;
        Ok(PaymentMethodPayload {
            payment_method: method.map(PaymentMethod),
            user_errors,
        })
    }

    /// Removes one of your cards. Refused while it is your last card and an order still
    /// has instalments to pay; open orders move to your default card.
    #[graphql(guard = "ConsumerGuard")]
    async fn remove_payment_method(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which card.")] input: PaymentMethodIdInput,
    ) -> async_graphql::Result<RemovePaymentMethodPayload> {
        let consumer = consumer(ctx)?;
        let id = decode(&input.id, NodeKind::PaymentMethod)?;
        let result =
            payment_methods::remove(deps(ctx)?, &actor(ctx), consumer.consumer_id, id).await;
        let (removed, user_errors) = payload_parts(result)?;
        Ok(RemovePaymentMethodPayload {
            removed_payment_method_id: removed.map(|()| input.id),
            user_errors,
        })
    }
}
