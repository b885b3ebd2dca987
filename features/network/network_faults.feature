@network @kind_only
Feature: The service copes with a slow, lossy or broken network between its parts
  As a user of the to-do service
  I want my requests answered, or refused promptly, while the network inside the service misbehaves
  So that a bad network never loses my to-dos or leaves me waiting

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a reader that keeps reading the to-do list through the front end

  Scenario: Packets lost on the way to the database lose no confirmed write
    Given a writer that keeps adding uniquely named to-dos through the front end
    When 10 percent of the back end's packets to the database are lost for 15 seconds
    Then at least 90 percent of requests succeeded while packets were lost
    When the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored twice
    And nothing of the network fault is left in any pod

  Scenario: A back end cut off from its database answers promptly and recovers
    Given a writer that keeps adding uniquely named to-dos through the front end
    When the back end is cut off from the database for 30 seconds
    Then the back end was reported not ready within 25 seconds of losing the database
    And after the network heals the service serves again within 30 seconds
    And every request was answered within 5 seconds, with an error if need be
    When the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored twice
    And nothing of the network fault is left in any pod

  # What the reference deployment promises here: its front end's readiness checks nginx itself, not the back end,
  # so a replica cut off from the back end keeps its share of requests (and fails them) until the cut heals; the
  # other replica keeps answering its share. At least half of the requests are answered.
  Scenario: A front-end replica cut off from the back end leaves the service available
    When one front-end replica is cut off from the back end for 15 seconds
    Then at least 50 percent of requests succeeded while one front-end replica was cut off
    And nothing of the network fault is left in any pod

  Scenario: Failing name lookups in the back end
    When name lookups from the back end fail for 15 seconds
    Then after the network heals the service serves again within 30 seconds
    And at least 95 percent of requests succeeded while name lookups failed
    And nothing of the network fault is left in any pod
