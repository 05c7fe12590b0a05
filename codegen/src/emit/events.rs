//! `webhook_events.rs`: the typed webhook event enum.

use proc_macro2::TokenStream;
use quote::quote;

use super::{docs, ident};
use crate::model::{Api, EventDef};

/// `webhook_events.rs`: the typed event enum.
pub fn events(api: &Api) -> TokenStream {
    let variants = api.events.iter().map(|e: &EventDef| {
        let var = ident(&e.variant);
        let payload = ident(&e.payload);
        let doc = docs(&format!(
            "`{}`{}",
            e.wire,
            if e.doc.is_empty() {
                String::new()
            } else {
                format!(": {}", e.doc)
            }
        ));
        quote!(#doc #var(crate::models::#payload),)
    });
    let dispatch = api.events.iter().filter(|e| e.has_type).map(|e| {
        let var = ident(&e.variant);
        let wire = &e.wire;
        quote!(#wire => Event::#var(serde_json::from_slice(body).map_err(PayloadError::new)?),)
    });
    let types = api.events.iter().map(|e| {
        let var = ident(&e.variant);
        let wire = &e.wire;
        if e.has_type {
            quote!(Event::#var(e) => AsRef::<str>::as_ref(&e.type_),)
        } else {
            quote!(Event::#var(_) => #wire,)
        }
    });
    let ids = api.events.iter().map(|e| {
        let var = ident(&e.variant);
        quote!(Event::#var(e) => AsRef::<str>::as_ref(&e.id),)
    });
    let id_method = api.events.iter().all(|e| e.has_id).then(|| {
        quote! {
            /// The event id (the `webhook-id` it was delivered with).
            pub fn id(&self) -> &str {
                match self {
                    #(#ids)*
                    Event::Unknown(e) => e.id(),
                }
            }
        }
    });
    let wires = api.events.iter().map(|e| &e.wire);
    // Payload types are re-exported beside `Event`, unless one is named like an item here.
    let mut reexported = std::collections::BTreeSet::new();
    let reexports: Vec<TokenStream> = api
        .events
        .iter()
        .filter(|e| !["Event", "UnknownEvent"].contains(&e.payload.as_str()))
        .filter(|e| reexported.insert(e.payload.clone()))
        .map(|e| {
            let payload = ident(&e.payload);
            quote!(pub use crate::models::#payload;)
        })
        .collect();
    quote! {
        #(#reexports)*

        /// A webhook event, typed by its `type`.
        ///
        /// Event types added to the API after this version of the SDK still verify and arrive as
        /// [`Event::Unknown`] with their raw JSON.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            #(#variants)*
            /// An event type this version of the SDK does not know.
            Unknown(crate::webhooks::UnknownEvent),
        }

        impl Event {
            /// Every event type this version of the SDK knows.
            pub const KNOWN_TYPES: &'static [&'static str] = &[#(#wires),*];

            /// Parses an event body (already verified) into its typed form.
            pub fn from_slice(body: &[u8]) -> Result<Event, crate::webhooks::PayloadError> {
                use crate::webhooks::PayloadError;
                let peek: crate::codec::EventTypePeek<'_> =
                    serde_json::from_slice(body).map_err(PayloadError::new)?;
                Ok(match peek.event_type.as_ref() {
                    #(#dispatch)*
                    _ => Event::Unknown(crate::webhooks::UnknownEvent::from_value(
                        serde_json::from_slice(body).map_err(PayloadError::new)?,
                    )?),
                })
            }

            /// The event type, e.g. `contact.created`.
            pub fn event_type(&self) -> &str {
                match self {
                    #(#types)*
                    Event::Unknown(e) => e.event_type(),
                }
            }

            #id_method
        }
    }
}
